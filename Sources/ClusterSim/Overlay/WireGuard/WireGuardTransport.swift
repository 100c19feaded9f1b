import Crypto
import Foundation
import PacketWire

/// Why a WireGuard transport message could not be opened.
public struct WireGuardError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case malformed, authenticationFailed, badKey }
    public var code: Code
    public var reason: String
    public var description: String { reason }
}

/// One direction's transport key between two peers, and the sealing and opening of transport data
/// messages with it: ChaCha20-Poly1305 (RFC 8439) from swift-crypto's `ChaChaPoly`, nonce = 32 zero bits
/// then the message's 64-bit counter little-endian, no associated data, the plaintext (the inner IP packet)
/// padded with zeros to a multiple of 16 (wireguard.pdf §5.4.6; Linux drivers/net/wireguard/send.c
/// `encrypt_packet`, receive.c `decrypt_packet`). The keys come from the scenario, not from a Noise
/// handshake, so a capture cannot show the handshake messages (types 1 and 2).
public struct WireGuardTransport {
    /// Calico's `wireguardListeningPort` and Flannel's wireguard backend default; Cilium uses 51871.
    public static let calicoPort: UInt16 = 51820
    public static let ciliumPort: UInt16 = 51871
    public static let flannelPort: UInt16 = 51820

    let key: SymmetricKey

    /// - Throws: ``WireGuardError`` `badKey` unless `base64` holds exactly 32 bytes.
    public init(base64: String) throws(WireGuardError) {
        guard let data = Data(base64Encoded: base64), data.count == 32 else {
            throw WireGuardError(code: .badKey, reason: "a WireGuard key is 32 bytes in base64 (`wg genkey`); '\(base64)' is not")
        }
        key = SymmetricKey(data: data)
    }

    /// The transport data message carrying `packet`: header, ciphertext of the padded packet, tag.
    public func seal(_ packet: UnsafeRawBufferPointer, header: WireGuardDataHeader) -> [UInt8] {
        let padding = (WireGuardDataMessage.paddingMultiple - packet.count % WireGuardDataMessage.paddingMultiple) % WireGuardDataMessage.paddingMultiple
        var plaintext = [UInt8](packet)
        plaintext.append(contentsOf: repeatElement(0, count: padding))
        var message = [UInt8](repeating: 0, count: WireGuardDataMessage.headerLength)
        message.withUnsafeMutableBytes { header.emit(into: $0) }
        // The nonce is 12 bytes by construction, and ChaChaPoly.seal fails only on a bad nonce size.
        guard let nonce = try? ChaChaPoly.Nonce(data: header.nonce),
              let box = try? ChaChaPoly.seal(plaintext, using: key, nonce: nonce, authenticating: Data()) else { return message }
        message.append(contentsOf: box.ciphertext)
        message.append(contentsOf: box.tag)
        return message
    }

    /// The padded inner packet of a transport data message.
    /// - Throws: ``WireGuardError`` `authenticationFailed` when the tag does not verify with this key (the
    ///   sender did not have it, or the message was changed), `malformed` when it is no data message.
    public func open(_ message: UnsafeRawBufferPointer) throws(WireGuardError) -> [UInt8] {
        let view: WireGuardDataMessage
        do { view = try WireGuardDataMessage(checking: message) } catch {
            throw WireGuardError(code: .malformed, reason: error.description)
        }
        let header = WireGuardDataHeader(view)
        do {
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: header.nonce), ciphertext: Data(view.ciphertext), tag: Data(view.tag))
            return [UInt8](try ChaChaPoly.open(box, using: key, authenticating: Data()))
        } catch {
            throw WireGuardError(code: .authenticationFailed, reason: "the Poly1305 tag of the message to receiver \(header.receiverIndex), counter \(header.counter), does not verify with this peer's key: it was not sealed with it")
        }
    }
}
