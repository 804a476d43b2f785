// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {PairFactory} from "./PairFactory.sol";
import {SwapPair} from "./SwapPair.sol";

interface IERC20Pull {
    function transferFrom(address, address, uint256) external returns (bool);
}

/// @title SwapRouter
/// @notice The Uniswap V2 router's core: quotes, exact-input multi-hop swaps and adding liquidity.
contract SwapRouter {
    PairFactory public immutable factory;

    constructor(PairFactory factory_) {
        factory = factory_;
    }

    modifier ensure(uint256 deadline) {
        require(deadline >= block.timestamp, "SwapRouter: EXPIRED");
        _;
    }

    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        require(amountIn > 0, "SwapRouter: INSUFFICIENT_INPUT_AMOUNT");
        require(reserveIn > 0 && reserveOut > 0, "SwapRouter: INSUFFICIENT_LIQUIDITY");
        uint256 amountInWithFee = amountIn * 997;
        return (amountInWithFee * reserveOut) / (reserveIn * 1000 + amountInWithFee);
    }

    function getAmountsOut(uint256 amountIn, address[] calldata path) public view returns (uint256[] memory amounts) {
        require(path.length >= 2, "SwapRouter: INVALID_PATH");
        amounts = new uint256[](path.length);
        amounts[0] = amountIn;
        for (uint256 i; i < path.length - 1; i++) {
            (uint256 reserveIn, uint256 reserveOut) = _reserves(path[i], path[i + 1]);
            amounts[i + 1] = getAmountOut(amounts[i], reserveIn, reserveOut);
        }
    }

    function addLiquidity(address tokenA, address tokenB, uint256 amountA, uint256 amountB, address to)
        external
        returns (uint256 liquidity)
    {
        address pair = factory.getPair(tokenA, tokenB);
        if (pair == address(0)) pair = factory.createPair(tokenA, tokenB);
        IERC20Pull(tokenA).transferFrom(msg.sender, pair, amountA);
        IERC20Pull(tokenB).transferFrom(msg.sender, pair, amountB);
        liquidity = SwapPair(pair).mint(to);
    }

    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] calldata path,
        address to,
        uint256 deadline
    ) external ensure(deadline) returns (uint256[] memory amounts) {
        amounts = getAmountsOut(amountIn, path);
        require(amounts[amounts.length - 1] >= amountOutMin, "SwapRouter: INSUFFICIENT_OUTPUT_AMOUNT");
        IERC20Pull(path[0]).transferFrom(msg.sender, factory.getPair(path[0], path[1]), amounts[0]);
        _swap(amounts, path, to);
    }

    /// @dev Each hop's output goes straight to the next hop's pair (the last one to `to`).
    function _swap(uint256[] memory amounts, address[] calldata path, address to) private {
        for (uint256 i; i < path.length - 1; i++) {
            (address input, address output) = (path[i], path[i + 1]);
            (uint256 amount0Out, uint256 amount1Out) =
                input < output ? (uint256(0), amounts[i + 1]) : (amounts[i + 1], uint256(0));
            address recipient = i < path.length - 2 ? factory.getPair(output, path[i + 2]) : to;
            SwapPair(factory.getPair(input, output)).swap(amount0Out, amount1Out, recipient, new bytes(0));
        }
    }

    function _reserves(address tokenA, address tokenB) private view returns (uint256, uint256) {
        address pair = factory.getPair(tokenA, tokenB);
        require(pair != address(0), "SwapRouter: NO_PAIR");
        (uint112 reserve0, uint112 reserve1,) = SwapPair(pair).getReserves();
        return tokenA < tokenB ? (reserve0, reserve1) : (reserve1, reserve0);
    }
}
