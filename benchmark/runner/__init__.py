"""The runner: dataset -> adapter -> raw outputs -> oracles -> per-image shards -> results."""
