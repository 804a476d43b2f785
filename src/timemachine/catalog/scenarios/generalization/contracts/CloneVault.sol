// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IAsset {
    function balanceOf(address holder) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @notice Vault implementation for EIP-1167 clones: shares priced at the raw asset balance,
///         rounding down, no virtual shares, no minimum.
contract CloneVault {
    IAsset public asset;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;

    event Deposit(address indexed owner, uint256 assets, uint256 shares);
    event Redeem(address indexed owner, uint256 assets, uint256 shares);

    error AlreadyInitialized();

    function initialize(IAsset asset_) external {
        if (address(asset) != address(0)) revert AlreadyInitialized();
        asset = asset_;
    }

    function totalAssets() public view returns (uint256) {
        return asset.balanceOf(address(this));
    }

    function deposit(uint256 assets) external returns (uint256 shares) {
        uint256 supply = totalSupply;
        shares = supply == 0 ? assets : (assets * supply) / totalAssets();
        asset.transferFrom(msg.sender, address(this), assets);
        totalSupply = supply + shares;
        balanceOf[msg.sender] += shares;
        emit Deposit(msg.sender, assets, shares);
    }

    function redeem(uint256 shares) external returns (uint256 assets) {
        assets = (shares * totalAssets()) / totalSupply;
        balanceOf[msg.sender] -= shares;
        totalSupply -= shares;
        asset.transfer(msg.sender, assets);
        emit Redeem(msg.sender, assets, shares);
    }
}

/// @notice Creates EIP-1167 minimal clones of one CloneVault implementation.
contract VaultFactory {
    address public immutable implementation;

    event VaultCreated(address indexed vault, address indexed asset);

    constructor() {
        implementation = address(new CloneVault());
    }

    function create(IAsset asset) external returns (address vault) {
        bytes20 target = bytes20(implementation);
        assembly {
            let code := mload(0x40)
            mstore(code, 0x3d602d80600a3d3981f3363d3d373d3d3d363d73000000000000000000000000)
            mstore(add(code, 0x14), target)
            mstore(add(code, 0x28), 0x5af43d82803e903d91602b57fd5bf30000000000000000000000000000000000)
            vault := create(0, code, 0x37)
        }
        require(vault != address(0), "VaultFactory: create failed");
        CloneVault(vault).initialize(asset);
        emit VaultCreated(vault, address(asset));
    }
}
