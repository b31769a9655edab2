"""Many storage accounts at once: a generated emulator world with the inventory that describes it
(world.py), what is wrong with the world after a run (world.world_problems), and the real
ansible-playbook run of the collection's playbooks over it (run.py). Used by the soak tests
(tests/soak) and the benchmark."""
