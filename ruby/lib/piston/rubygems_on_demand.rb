# frozen_string_literal: true

module Piston
  # bin/piston starts JRuby without RubyGems (--disable-gems) when RubyGems could find no gem but
  # JRuby's own: its boot, which evaluates the specifications of JRuby's 68 default gems, is a
  # third of the time to the first response. .install, called before config.ru loads, has
  # RubyGems load the moment the app needs it: at a require the load path cannot satisfy (the
  # gems bundled in JRuby: rake, minitest, rexml...), a call to `gem`, or the constant Gem. From
  # then on everything is as if JRuby had started with it. .install runs on the thread that loads
  # the app.
  module RubyGemsOnDemand
    # Does nothing when RubyGems is loaded already (a JRuby started with it, rackup, Rails).
    def self.install
      return if defined?(::Gem)

      require "did_you_mean" # which JRuby loads along with RubyGems
      Object.autoload(:Gem, "rubygems")
      Kernel.module_eval do
        alias_method :require_without_rubygems, :require

        private def require(path)
          require_without_rubygems(path)
        rescue LoadError
          raise unless RubyGemsOnDemand.load

          require(path)
        end

        # RubyGems replaces it with its own.
        private def gem(...)
          RubyGemsOnDemand.load
          gem(...)
        end
      end
    end

    # Loads RubyGems unless it is loaded already (Bundler, for one, requires it itself); true if
    # it did. Kernel#require is Ruby's own again first, so that RubyGems wraps that one.
    def self.load
      return false unless Object.autoload?(:Gem)

      Kernel.module_eval do
        alias_method :require, :require_without_rubygems
        private :require
      end
      require "rubygems"
    end
  end
end
