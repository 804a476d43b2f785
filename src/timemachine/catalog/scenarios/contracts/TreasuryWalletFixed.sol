// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title TreasuryWalletFixed
/// @notice A shared treasury in the upgradeable style (set up by `initialize`, not a constructor):
///         members contribute ETH, the owner pays it out.
/// @dev FIXED version of TreasuryWallet (same storage layout): `initialize` checks the flag.
contract TreasuryWalletFixed {
    address public owner;
    bool public initialized;
    mapping(address => uint256) public contributions;

    event Initialized(address indexed owner);
    event Contributed(address indexed member, uint256 amount);
    event Paid(address indexed to, uint256 amount);

    /// @notice Set the owner. Meant to run once, right after deployment.
    function initialize(address owner_) external {
        // FIX: the initializer runs once; the flag is checked before it is written.
        require(!initialized, "TreasuryWallet: already initialized");
        initialized = true;
        owner = owner_;
        emit Initialized(owner_);
    }

    /// @notice Contribute `msg.value` to the treasury.
    function contribute() external payable {
        require(msg.value > 0, "TreasuryWallet: zero contribution");
        contributions[msg.sender] += msg.value;
        emit Contributed(msg.sender, msg.value);
    }

    /// @notice Pay `amount` wei to `to`; only the owner may.
    function pay(address to, uint256 amount) external {
        require(msg.sender == owner, "TreasuryWallet: not owner");
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "TreasuryWallet: payment failed");
        emit Paid(to, amount);
    }
}
