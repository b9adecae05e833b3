// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IERC721Receiver: what safeTransferFrom asks of a contract recipient.
interface IERC721Receiver {
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4);
}

/// @title Collectible: an ERC-721 (EIP-721 core and ERC-165) with owner-only
/// mint and holder burn.  It has name() and symbol() but no decimals() and
/// no totalSupply(), so token readers see those calls revert.  Transfers do
/// not emit Approval when they clear a token's approval.
contract Collectible {
    string public name;
    string public symbol;
    address public immutable owner;

    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => address) private _approved;
    mapping(address => mapping(address => bool)) private _operators;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
        owner = msg.sender;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd; // ERC-721
    }

    function balanceOf(address holder) external view returns (uint256) {
        require(holder != address(0), "ERC721: zero address");
        return _balances[holder];
    }

    function ownerOf(uint256 tokenId) public view returns (address holder) {
        holder = _owners[tokenId];
        require(holder != address(0), "ERC721: no such token");
    }

    function getApproved(uint256 tokenId) external view returns (address) {
        ownerOf(tokenId);
        return _approved[tokenId];
    }

    function isApprovedForAll(address holder, address operator) external view returns (bool) {
        return _operators[holder][operator];
    }

    /// Emits Approval(holder, to, tokenId).
    function approve(address to, uint256 tokenId) external {
        address holder = ownerOf(tokenId);
        require(msg.sender == holder || _operators[holder][msg.sender], "ERC721: not allowed to approve");
        _approved[tokenId] = to;
        emit Approval(holder, to, tokenId);
    }

    /// Emits ApprovalForAll(msg.sender, operator, approved).
    function setApprovalForAll(address operator, bool approved) external {
        _operators[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// Emits Transfer(from, to, tokenId).
    function transferFrom(address from, address to, uint256 tokenId) public {
        address holder = ownerOf(tokenId);
        require(holder == from, "ERC721: from is not the owner");
        require(to != address(0), "ERC721: transfer to the zero address");
        require(
            msg.sender == holder || _approved[tokenId] == msg.sender || _operators[holder][msg.sender],
            "ERC721: caller may not transfer"
        );
        delete _approved[tokenId];
        unchecked {
            _balances[from] -= 1;
            _balances[to] += 1;
        }
        _owners[tokenId] = to;
        emit Transfer(from, to, tokenId);
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        if (to.code.length != 0) {
            bytes4 answer = IERC721Receiver(to).onERC721Received(msg.sender, from, tokenId, data);
            require(answer == IERC721Receiver.onERC721Received.selector, "ERC721: recipient refused");
        }
    }

    /// Owner only.  Emits Transfer(0, to, tokenId).
    function mint(address to, uint256 tokenId) external {
        require(msg.sender == owner, "ERC721: caller is not the owner");
        require(to != address(0), "ERC721: mint to the zero address");
        require(_owners[tokenId] == address(0), "ERC721: token exists");
        unchecked {
            _balances[to] += 1;
        }
        _owners[tokenId] = to;
        emit Transfer(address(0), to, tokenId);
    }

    /// Holder only.  Emits Transfer(holder, 0, tokenId).
    function burn(uint256 tokenId) external {
        address holder = ownerOf(tokenId);
        require(msg.sender == holder, "ERC721: caller is not the holder");
        delete _approved[tokenId];
        unchecked {
            _balances[holder] -= 1;
        }
        delete _owners[tokenId];
        emit Transfer(holder, address(0), tokenId);
    }
}
