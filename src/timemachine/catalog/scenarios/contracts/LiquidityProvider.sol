// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Provider {
    function transfer(address, uint256) external returns (bool);
}

interface IConcentratedLiquidity {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external
        returns (uint256 amount0, uint256 amount1);
    function burn(int24 tickLower, int24 tickUpper, uint128 amount) external returns (uint256 amount0, uint256 amount1);
    function collect(address recipient, int24 tickLower, int24 tickUpper, uint128 amount0Requested, uint128 amount1Requested)
        external
        returns (uint128 amount0, uint128 amount1);
}

/// @title LiquidityProvider
/// @notice Owns concentrated-liquidity positions paid from its own inventory: `provide` mints
///         (paying in uniswapV3MintCallback), `withdraw` burns and collects principal plus fees.
///         A passive LP and a just-in-time searcher (mint before a swap, burn right after) alike.
contract LiquidityProvider {
    address public immutable owner;
    address private minting;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "LiquidityProvider: not owner");
        _;
    }

    function provide(address pool, int24 tickLower, int24 tickUpper, uint128 amount) external onlyOwner {
        minting = pool;
        IConcentratedLiquidity(pool).mint(address(this), tickLower, tickUpper, amount, "");
        minting = address(0);
    }

    function withdraw(address pool, int24 tickLower, int24 tickUpper, uint128 amount) external onlyOwner {
        IConcentratedLiquidity(pool).burn(tickLower, tickUpper, amount);
        IConcentratedLiquidity(pool).collect(address(this), tickLower, tickUpper, type(uint128).max, type(uint128).max);
    }

    function uniswapV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata) external {
        require(msg.sender == minting, "LiquidityProvider: unexpected callback");
        if (amount0Owed > 0) IERC20Provider(IConcentratedLiquidity(msg.sender).token0()).transfer(msg.sender, amount0Owed);
        if (amount1Owed > 0) IERC20Provider(IConcentratedLiquidity(msg.sender).token1()).transfer(msg.sender, amount1Owed);
    }
}
