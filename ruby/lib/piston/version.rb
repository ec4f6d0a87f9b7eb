# frozen_string_literal: true

module Piston
  VERSION = "0.1.0"
end
