// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Bot {
    function balanceOf(address) external view returns (uint256);
    function approve(address, uint256) external returns (bool);
    function transfer(address, uint256) external returns (bool);
}

interface IERC3156Lender {
    function flashLoan(address receiver, address token, uint256 amount, bytes calldata data) external returns (bool);
}

interface IRouterBot {
    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] calldata path,
        address to,
        uint256 deadline
    ) external returns (uint256[] memory amounts);
}

/// @title ArbitrageBot
/// @notice Closes a price gap between two pools of the same pair with an ERC-3156 flash loan:
///         buys the asset where it is cheap, sells it where it is dear, repays the loan plus fee
///         and keeps the difference for its owner.
contract ArbitrageBot {
    bytes32 private constant CALLBACK_SUCCESS = keccak256("ERC3156FlashBorrower.onFlashLoan");

    address public immutable owner;
    address private lender;

    struct Route {
        IRouterBot cheap;
        IRouterBot dear;
        address asset;
        uint256 minProfit;
    }

    constructor() {
        owner = msg.sender;
    }

    /// @notice Borrow `amount` of `quote`, buy `asset` through `cheap`, sell it through `dear`.
    function arbitrage(
        IERC3156Lender flashLender,
        address quote,
        uint256 amount,
        IRouterBot cheap,
        IRouterBot dear,
        address asset,
        uint256 minProfit
    ) external {
        require(msg.sender == owner, "ArbitrageBot: not owner");
        lender = address(flashLender);
        flashLender.flashLoan(address(this), quote, amount, abi.encode(Route(cheap, dear, asset, minProfit)));
        lender = address(0);
        IERC20Bot(quote).transfer(owner, IERC20Bot(quote).balanceOf(address(this)));
    }

    /// @notice ERC-3156 callback: runs the route with the borrowed funds and approves the repayment.
    function onFlashLoan(address initiator, address token, uint256 amount, uint256 fee, bytes calldata data)
        external
        returns (bytes32)
    {
        require(msg.sender == lender && initiator == address(this), "ArbitrageBot: untrusted loan");
        Route memory route = abi.decode(data, (Route));
        uint256 bought = _swap(route.cheap, token, route.asset, amount);
        uint256 sold = _swap(route.dear, route.asset, token, bought);
        require(sold >= amount + fee + route.minProfit, "ArbitrageBot: unprofitable");
        IERC20Bot(token).approve(msg.sender, amount + fee);
        return CALLBACK_SUCCESS;
    }

    function _swap(IRouterBot router, address input, address output, uint256 amountIn) private returns (uint256) {
        IERC20Bot(input).approve(address(router), amountIn);
        address[] memory path = new address[](2);
        path[0] = input;
        path[1] = output;
        uint256[] memory amounts = router.swapExactTokensForTokens(amountIn, 0, path, address(this), block.timestamp);
        return amounts[1];
    }
}
