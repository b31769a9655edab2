"""What the benchmark needs to run azure.azcollection's side: its playbook (configure.playbook), its
requirements, and the proxy that brings the storage accounts' Blob endpoints to the emulator
(proxy.py)."""
