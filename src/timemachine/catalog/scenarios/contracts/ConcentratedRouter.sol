// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Payer {
    function transferFrom(address, address, uint256) external returns (bool);
}

interface IConcentratedPool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96, bytes calldata data)
        external
        returns (int256 amount0, int256 amount1);
}

/// @title ConcentratedRouter
/// @notice The Uniswap V3 SwapRouter's exactInputSingle for one named pool: the pool pays the
///         recipient, then pulls the input from the payer in uniswapV3SwapCallback. Only the pool
///         the router is currently swapping through may call back.
contract ConcentratedRouter {
    uint160 internal constant MIN_SQRT_RATIO = 4295128739;
    uint160 internal constant MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342;

    address private activePool;
    address private payer;

    function exactInputSingle(address pool, bool zeroForOne, uint256 amountIn, uint256 amountOutMinimum, address recipient)
        external
        returns (uint256 amountOut)
    {
        require(activePool == address(0), "busy");
        activePool = pool;
        payer = msg.sender;
        uint160 limit = zeroForOne ? MIN_SQRT_RATIO + 1 : MAX_SQRT_RATIO - 1;
        (int256 amount0, int256 amount1) =
            IConcentratedPool(pool).swap(recipient, zeroForOne, int256(amountIn), limit, "");
        activePool = address(0);
        payer = address(0);
        amountOut = uint256(-(zeroForOne ? amount1 : amount0));
        require(amountOut >= amountOutMinimum, "Too little received");
    }

    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata) external {
        require(msg.sender == activePool && activePool != address(0), "not the active pool");
        IConcentratedPool pool = IConcentratedPool(msg.sender);
        if (amount0Delta > 0) IERC20Payer(pool.token0()).transferFrom(payer, msg.sender, uint256(amount0Delta));
        if (amount1Delta > 0) IERC20Payer(pool.token1()).transferFrom(payer, msg.sender, uint256(amount1Delta));
    }
}
