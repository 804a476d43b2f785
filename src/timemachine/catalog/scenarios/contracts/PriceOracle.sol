// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title PriceOracle
/// @notice An Aave-style asset price oracle (getAssetPrice, 8-decimal USD prices) whose owner
///         posts prices, as a Chainlink feed's keeper would.
contract PriceOracle {
    address public immutable owner;
    mapping(address => uint256) private prices;

    event AssetPriceUpdated(address asset, uint256 price, uint256 timestamp);

    constructor() {
        owner = msg.sender;
    }

    function setAssetPrice(address asset, uint256 price) external {
        require(msg.sender == owner, "PriceOracle: not owner");
        prices[asset] = price;
        emit AssetPriceUpdated(asset, price, block.timestamp);
    }

    function getAssetPrice(address asset) external view returns (uint256) {
        uint256 price = prices[asset];
        require(price > 0, "PriceOracle: no price");
        return price;
    }
}
