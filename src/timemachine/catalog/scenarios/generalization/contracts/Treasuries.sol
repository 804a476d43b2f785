// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice A donation treasury its owner spends. transferOwnership forgot its owner check.
contract OwnedTreasury {
    address public owner;

    event OwnershipTransferred(address indexed previous, address indexed next);
    event Spent(address indexed to, uint256 amount);

    error NotOwner();
    error PaymentFailed();

    constructor() {
        owner = msg.sender;
    }

    receive() external payable {}

    function transferOwnership(address next) external {
        emit OwnershipTransferred(owner, next);
        owner = next;
    }

    function spend(address to, uint256 amount) external {
        if (msg.sender != owner) revert NotOwner();
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed();
        emit Spent(to, amount);
    }
}

/// @notice Collects rewards; anyone may harvest them to the beneficiary for a 1% bounty.
contract RewardHarvester {
    uint256 public constant BOUNTY_BPS = 100;
    address public immutable beneficiary;

    event Harvested(address indexed keeper, uint256 amount, uint256 bounty);

    error PaymentFailed();

    constructor(address beneficiary_) {
        beneficiary = beneficiary_;
    }

    receive() external payable {}

    function harvest() external {
        uint256 amount = address(this).balance;
        uint256 bounty = (amount * BOUNTY_BPS) / 10_000;
        (bool paid,) = beneficiary.call{value: amount - bounty}("");
        (bool rewarded,) = msg.sender.call{value: bounty}("");
        if (!paid || !rewarded) revert PaymentFailed();
        emit Harvested(msg.sender, amount, bounty);
    }
}
