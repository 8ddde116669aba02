//! The fault schedule of the fault phase: crashes with restarts, and partitions that form
//! and heal. Everything heals at the end of the phase.

use rand::Rng;

use crate::sim::{Event, Simulation};

impl Simulation {
    pub(crate) fn schedule_faults(&mut self) {
        let phase = self.config.fault_phase_ms;
        if phase < 1_000 {
            return;
        }
        if self.config.crashes {
            self.schedule_crashes(phase);
        }
        if self.config.partitions {
            self.schedule_partitions(phase);
        }
        if self.config.wipes {
            self.schedule_wipe(phase);
        }
    }

    /// Wipes one honest process during the first half of the phase; it restarts at the heal
    /// at the latest.
    fn schedule_wipe(&mut self, phase: u64) {
        let honest: Vec<usize> =
            self.processes.iter().enumerate().filter(|(_, p)| p.is_honest()).map(|(i, _)| i).collect();
        let Some(process) = honest.get(self.rng.gen_range(0..honest.len().max(1))).copied() else { return };
        let at = self.rng.gen_range(0..phase / 2);
        let down_for = self.rng.gen_range(100..3_000);
        self.schedule(at, Event::Wipe { process });
        self.schedule((at + down_for).min(phase), Event::Restart { process });
    }

    fn schedule_crashes(&mut self, phase: u64) {
        let honest: Vec<usize> =
            self.processes.iter().enumerate().filter(|(_, p)| p.is_honest()).map(|(i, _)| i).collect();
        if honest.is_empty() {
            return;
        }
        let crashes = self.rng.gen_range(0..=3);
        for _ in 0..crashes {
            let Some(process) = honest.get(self.rng.gen_range(0..honest.len())).copied() else { continue };
            let at = self.rng.gen_range(0..phase - 500);
            let down_for = self.rng.gen_range(100..3_000);
            self.schedule(at, Event::Crash { process });
            self.schedule((at + down_for).min(phase), Event::Restart { process });
        }
    }

    fn schedule_partitions(&mut self, phase: u64) {
        let partitions = self.rng.gen_range(0..=3);
        for _ in 0..partitions {
            let at = self.rng.gen_range(0..phase - 500);
            let lasts = self.rng.gen_range(300..4_000);
            let groups: Vec<u8> = (0..self.processes.len()).map(|_| self.rng.gen_range(0..2)).collect();
            self.schedule(at, Event::Partition { groups: Some(groups) });
            self.schedule((at + lasts).min(phase), Event::Partition { groups: None });
        }
    }
}
