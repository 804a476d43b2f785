"""Exploit catalog and the embedded devnet with its bundled, deterministic scenarios.

Submodules are imported where used (`catalog.artifacts` is light; building history pulls in
signing libraries), so decoding a trace never pays for the devnet builder.
"""
