// SPDX-License-Identifier: MIT
pragma solidity ^0.7.6;

/// @title BatchTokenFixed
/// @notice An ERC-20 (18 decimals) sold and bought back by the contract itself at a fixed rate of
///         1,000 BATCH per ETH, with a BEC-style `batchTransfer` for airdrops.
/// @dev FIXED version of BatchToken (same storage layout, still solc 0.7.6): `batchTransfer`
///      multiplies with an overflow check, as SafeMath did.
contract BatchTokenFixed {
    string public constant name = "Batch Token";
    string public constant symbol = "BATCH";
    uint8 public constant decimals = 18;
    uint256 public constant RATE = 1000; // BATCH base units per wei

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Bought(address indexed buyer, uint256 paid, uint256 tokens);
    event Sold(address indexed seller, uint256 tokens, uint256 paid);

    /// @notice Buy BATCH with ETH at the fixed rate.
    function buy() external payable {
        require(msg.value > 0, "BatchToken: zero purchase");
        uint256 tokens = msg.value * RATE;
        totalSupply += tokens;
        balanceOf[msg.sender] += tokens;
        emit Transfer(address(0), msg.sender, tokens);
        emit Bought(msg.sender, msg.value, tokens);
    }

    /// @notice Sell `tokens` BATCH back to the contract for ETH at the fixed rate.
    function sell(uint256 tokens) external {
        require(balanceOf[msg.sender] >= tokens, "BatchToken: insufficient balance");
        uint256 paid = tokens / RATE;
        require(paid > 0 && paid <= address(this).balance, "BatchToken: cannot pay");
        balanceOf[msg.sender] -= tokens;
        totalSupply -= tokens;
        emit Transfer(msg.sender, address(0), tokens);
        emit Sold(msg.sender, tokens, paid);
        (bool ok, ) = msg.sender.call{value: paid}("");
        require(ok, "BatchToken: ETH transfer failed");
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(to != address(0), "BatchToken: transfer to zero");
        require(balanceOf[msg.sender] >= value, "BatchToken: insufficient balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }

    /// @dev SafeMath's `mul`: reverts instead of wrapping (solc 0.7 arithmetic is unchecked).
    function _mul(uint256 a, uint256 b) private pure returns (uint256) {
        if (a == 0) return 0;
        uint256 c = a * b;
        require(c / a == b, "BatchToken: multiplication overflow");
        return c;
    }

    /// @notice Send `value` tokens to each of `receivers` (airdrops).
    function batchTransfer(address[] calldata receivers, uint256 value) external returns (bool) {
        uint256 cnt = receivers.length;
        require(cnt > 0 && cnt <= 20, "BatchToken: 1 to 20 receivers");
        uint256 amount = _mul(cnt, value); // FIX: checked multiplication (SafeMath.mul)
        require(value > 0 && balanceOf[msg.sender] >= amount, "BatchToken: insufficient balance");
        balanceOf[msg.sender] -= amount;
        for (uint256 i = 0; i < cnt; i++) {
            balanceOf[receivers[i]] += value;
            emit Transfer(msg.sender, receivers[i], value);
        }
        return true;
    }
}
