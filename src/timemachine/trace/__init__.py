"""Trace normalization, ABI decoding, token transfers, balance changes and renderers.

signatures   text/JSON ABI fragments, bundled signature table (data/signatures.txt)
decoder      Decoder: calls, events, revert reasons
normalize    callTracer / prestateTracer JSON -> CallFrame, StateDiff, AccountState
order        emission order of a frame's logs and child calls
transfers    ETH / ERC-20 / ERC-721 / WETH movements
balances     balance changes, token metadata over eth_call
render       cast-style tree, balance table, fidelity verdict (rich)
formatting            shared value formatting
"""
