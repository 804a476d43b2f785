// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {SwapPair} from "./SwapPair.sol";

/// @title PairFactory
/// @notice Creates one SwapPair per token pair, like UniswapV2Factory (same getPair/PairCreated).
contract PairFactory {
    mapping(address => mapping(address => address)) public getPair;
    address[] public allPairs;

    event PairCreated(address indexed token0, address indexed token1, address pair, uint256);

    function allPairsLength() external view returns (uint256) {
        return allPairs.length;
    }

    function createPair(address tokenA, address tokenB) external returns (address pair) {
        require(tokenA != tokenB, "PairFactory: IDENTICAL_ADDRESSES");
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        require(token0 != address(0), "PairFactory: ZERO_ADDRESS");
        require(getPair[token0][token1] == address(0), "PairFactory: PAIR_EXISTS");
        pair = address(new SwapPair());
        SwapPair(pair).initialize(token0, token1);
        getPair[token0][token1] = pair;
        getPair[token1][token0] = pair;
        allPairs.push(pair);
        emit PairCreated(token0, token1, pair, allPairs.length);
    }
}
