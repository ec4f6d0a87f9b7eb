# frozen_string_literal: true

require "piston/rack_handler"

# rack 3 with rackup 2: `rackup -s piston`, `RACKUP_HANDLER=piston rackup`, `rails server -u
# piston` (Rails 7.2) and Sinatra 4's `set :server, "piston"` load this file through
# Rackup::Handler.get(:piston).
module Rackup
  module Handler
    class Piston
      extend ::Piston::RackHandler
    end

    register :piston, Piston
  end
end
