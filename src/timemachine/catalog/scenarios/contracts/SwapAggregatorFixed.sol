// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Like {
    function balanceOf(address account) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function approve(address spender, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title SwapAggregatorFixed
/// @notice A DEX aggregator / bridge router: users approve it once (unlimited, as dApps ask) and
///         swap through whichever DEX the off-chain quote API picked. `swap` pulls `amountIn` of
///         `tokenIn` from the caller, approves `target` for it, lets `target` execute `data`
///         (e.g. a router's `swapExactTokensForTokens` paying this contract), checks that at least
///         `minOut` of `tokenOut` arrived and forwards it to the caller.
/// @dev FIXED version of SwapAggregator (stateless, like the original): the external call may only
///      use an allow-listed swap selector, and its target may not be one of the swapped tokens.
contract SwapAggregatorFixed {
    event Swapped(
        address indexed sender,
        address indexed tokenIn,
        address indexed tokenOut,
        uint256 amountIn,
        uint256 amountOut,
        address target
    );

    /// @notice Swap `amountIn` of `tokenIn` for at least `minOut` of `tokenOut` by calling `target`
    ///         with `data`; the output is sent to the caller.
    function swap(
        address tokenIn,
        uint256 amountIn,
        address target,
        bytes calldata data,
        address tokenOut,
        uint256 minOut
    ) external returns (uint256 amountOut) {
        require(target != tokenIn && target != tokenOut, "SwapAggregator: target is a token");
        uint256 before = IERC20Like(tokenOut).balanceOf(address(this));
        if (amountIn > 0) {
            _call(tokenIn, abi.encodeCall(IERC20Like.transferFrom, (msg.sender, address(this), amountIn)));
            _call(tokenIn, abi.encodeCall(IERC20Like.approve, (target, amountIn)));
        }
        _execute(target, data);
        amountOut = IERC20Like(tokenOut).balanceOf(address(this)) - before;
        require(amountOut >= minOut, "SwapAggregator: insufficient output");
        if (amountOut > 0) {
            _call(tokenOut, abi.encodeCall(IERC20Like.transfer, (msg.sender, amountOut)));
        }
        emit Swapped(msg.sender, tokenIn, tokenOut, amountIn, amountOut, target);
    }

    /// @dev FIX: the selectors the external call may use (the V2 router's swap entry points).
    ///      Never a token function: `transferFrom`, `transfer`, `approve` are refused.
    bytes4 private constant SWAP_EXACT_IN = bytes4(keccak256("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"));
    bytes4 private constant SWAP_EXACT_OUT = bytes4(keccak256("swapTokensForExactTokens(uint256,uint256,address[],address,uint256)"));

    /// @dev The external call the quote API prepared; its revert reason is passed on.
    function _execute(address target, bytes calldata data) private {
        require(data.length >= 4, "SwapAggregator: no selector");
        bytes4 selector = bytes4(data[0:4]);
        require(selector == SWAP_EXACT_IN || selector == SWAP_EXACT_OUT, "SwapAggregator: selector not allowed");
        require(target.code.length > 0, "SwapAggregator: target is not a contract");
        (bool ok, bytes memory reason) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    /// @dev A token call that must succeed and return nothing or `true` (SafeERC20 semantics).
    function _call(address token, bytes memory data) private {
        (bool ok, bytes memory result) = token.call(data);
        require(ok && (result.length == 0 || abi.decode(result, (bool))), "SwapAggregator: token call failed");
    }
}
