# frozen_string_literal: true

module Piston
  # rack.input of a request without a body: one shared, stateless object instead of a new
  # StringIO per request. Behaves like an empty, binary, rewindable IO that cannot be written.
  module EmptyInput
    module_function

    def read(length = nil, buffer = nil)
      buffer&.clear
      return nil if length&.positive?

      buffer || String.new(encoding: Encoding::BINARY)
    end

    def gets(*) = nil
    def each(*) = self
    def rewind = 0
    def size = 0
    def eof? = true
    def close = nil
    def external_encoding = Encoding::BINARY
    def binmode? = true

    freeze
  end
end
