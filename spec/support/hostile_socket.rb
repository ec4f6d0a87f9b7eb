# frozen_string_literal: true

require "socket"

# What a hostile client does to its socket, beyond what RawHttp and RawWebSocket offer: flood
# without ever reading, and vanish with a TCP reset instead of a close.
module HostileSocket
  module_function

  # Writes `piece` again and again, up to `limit` bytes in all, reading nothing. Returns
  # [outcome, bytes written]: :stalled when no byte went out for `stall` seconds (the peer
  # stopped reading: backpressure), :closed when the peer closed or reset the connection, or
  # :absorbed when all `limit` bytes went in.
  def flood(socket, piece, limit:, stall: 2)
    piece = piece.b
    sent = 0
    pending = piece
    while sent < limit
      n = socket.write_nonblock(pending, exception: false)
      if n == :wait_writable
        return [:stalled, sent] unless IO.select(nil, [socket], nil, stall)
      else
        sent += n
        pending = n == pending.bytesize ? piece : pending.byteslice(n..)
      end
    end
    [:absorbed, sent]
  rescue Errno::EPIPE, Errno::ECONNRESET, IOError
    [:closed, sent]
  end

  # Writes all of `bytes` unless the peer stops reading for `stall` seconds or goes away; true
  # when everything went out.
  def write(socket, bytes, stall: 2)
    flood(socket, bytes, limit: bytes.bytesize, stall: stall).first == :absorbed
  end

  # Small kernel buffers, so that what a flood gets past them is what the server took in.
  def small_buffers(socket, bytes = 16 * 1024)
    socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_SNDBUF, bytes)
    socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_RCVBUF, bytes)
    socket
  end

  # Closes with SO_LINGER 0: the peer gets a RST, not a FIN, and nothing queued is delivered.
  def reset(socket)
    return if socket.closed?

    socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_LINGER, [1, 0].pack("ii"))
    socket.close
  rescue IOError, SystemCallError
    nil
  end
end
