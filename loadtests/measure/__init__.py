"""What a run measured: ledgers, hops, timelines, CPU, growth from metrics and the ideal queue."""
