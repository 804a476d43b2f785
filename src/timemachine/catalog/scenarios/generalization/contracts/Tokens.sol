// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice A plain ERC-20 (18 decimals) whose creator mints and burns.
contract GenToken {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    address public immutable minter;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error NotMinter();
    error InsufficientBalance(uint256 available, uint256 needed);
    error InsufficientAllowance(uint256 available, uint256 needed);

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
        minter = msg.sender;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter();
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }

    function burn(address from, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter();
        _debit(from, amount);
        unchecked {
            totalSupply -= amount;
        }
        emit Transfer(from, address(0), amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(allowed, amount);
            unchecked {
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        _debit(from, amount);
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(from, to, amount);
    }

    function _debit(address from, uint256 amount) private {
        uint256 held = balanceOf[from];
        if (held < amount) revert InsufficientBalance(held, amount);
        unchecked {
            balanceOf[from] = held - amount;
        }
    }
}

interface IERC721Like {
    function transferFrom(address from, address to, uint256 id) external;
}

/// @notice A user's contract wallet: its owner executes calls through it; ether and NFTs that
///         arrive are forwarded to the owner from the receive hooks.
contract SmartWallet {
    address public immutable owner;

    error NotOwner();
    error CallFailed();

    constructor() {
        owner = msg.sender;
    }

    function execute(address target, uint256 value, bytes calldata data)
        external
        payable
        returns (bytes memory result)
    {
        if (msg.sender != owner) revert NotOwner();
        bool ok;
        (ok, result) = target.call{value: value}(data);
        if (!ok) revert CallFailed();
    }

    receive() external payable {
        (bool ok,) = owner.call{value: msg.value}("");
        if (!ok) revert CallFailed();
    }

    function onERC721Received(address, address, uint256 id, bytes calldata)
        external
        returns (bytes4)
    {
        IERC721Like(msg.sender).transferFrom(address(this), owner, id);
        return this.onERC721Received.selector;
    }
}
