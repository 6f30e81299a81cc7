# Typed kernel objects against real kernels booted in the lab, through kgdboe: globals and per-CPU
# variables read with their BTF types equal what the kernel says of itself; the task list, the
# kernel log and the module list read from a stopped kernel equal /proc and dmesg read over SSH
# just before the stop; bad inputs fail with their error ids and the session goes on answering.
# Every test resumes the kernel at its end.
#
# Set KGDBOE_OBJECTS_LAB to a name prefix of your own while developing (one lab per kernel, named
# <prefix>-<kernel>); otherwise the shared test-<kernel>-e1000-2 labs are used.
# KGDBOE_OBJECTS_KERNELS ("6.12" or "6.12,6.1", the default) picks the kernels.
BeforeDiscovery {
    $Kernels = if ($env:KGDBOE_OBJECTS_KERNELS) { $env:KGDBOE_OBJECTS_KERNELS -split ',' } else { '6.12', '6.1' }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')

    $script:ModuleDir = Import-KgdbOeTestModule

    # pid, comm and ppid of every process, from /proc/<pid>/stat ("pid (comm) S ppid ..."; comm may hold spaces and parens).
    function Get-LabProcess($Lab) {
        $text = Invoke-LabSsh -Lab $Lab -Command 'for f in /proc/[0-9]*/stat; do cat $f 2>/dev/null && echo; done'
        foreach ($line in ($text -split "`n")) {
            $open = $line.IndexOf('('); $close = $line.LastIndexOf(')')
            if ($open -lt 0 -or $close -lt $open) { continue }
            $rest = $line.Substring($close + 2) -split ' '
            [pscustomobject]@{ Pid = [int]$line.Substring(0, $open).Trim(); Comm = $line.Substring($open + 1, $close - $open - 1); ParentPid = [int]$rest[1] }
        }
    }

    # dmesg's text of each line: without the "[ time]" prefix that printk.time adds (off in the lab kernel).
    function Get-LabDmesg($Lab) {
        (Invoke-LabSsh -Lab $Lab -Command 'dmesg') -split "`n" | ForEach-Object { $_ -replace '^\[\s*\d+\.\d+\] ', '' }
    }
}

Describe 'Kernel objects on <_>' -Tag 'Lab', 'Objects' -ForEach $Kernels {
    BeforeAll {
        $kernel = $_
        $labArgs = @{ Kernel = $kernel; Nic = 'e1000'; Cpus = 2 }
        if ($env:KGDBOE_OBJECTS_LAB) { $labArgs.Name = "$env:KGDBOE_OBJECTS_LAB-$kernel" }
        $lab = Get-TestLab @labArgs

        # The workload process (tests/lab/workload.c) runs for good: getppid every 100 ms.
        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
        Invoke-LabSsh -Lab $lab -Command 'workload 0 100000 >/dev/null 2>&1 </dev/null &' | Out-Null
        $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -KeyFilePath $lab.KeyPath `
            -KnownHostsPath $lab.KnownHostsPath -ModulePath (Get-LabKernelModule -Lab $lab) -DebugPort $lab.DebugPort `
            -SystemMap $lab.SystemMap -Confirm:$false -ErrorAction Stop
        $session = $installation | Connect-KernelTarget -Name "objects-$kernel"
        $null = Get-KernelVariable init_task # loads the types once, while stopped
        Resume-KernelTarget -Confirm:$false

        function Suspend-Lab { if ($session.State -ne 'Stopped') { Suspend-KernelTarget | Out-Null } }
        function Resume-Lab { if ($session.State -eq 'Stopped') { Resume-KernelTarget -Confirm:$false } }
        function Assert-SessionUsable {
            Suspend-Lab
            (Get-KernelVariable init_task).comm | Should -Be 'swapper/0'
        }
    }

    AfterAll {
        if ($session -and -not $session.IsClosed) { Disconnect-KernelTarget -Target $session -Confirm:$false -ErrorAction Continue }
        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
    }

    AfterEach { Resume-Lab }

    Context 'Variables' {
        It 'reads init_task: comm swapper/0, pid 0, its address at the symbol' {
            Suspend-Lab
            $init = Get-KernelVariable init_task
            $init.comm | Should -Be 'swapper/0'
            $init.pid | Should -Be 0
            $init.KernelType | Should -Be 'struct task_struct'
            $init.KernelAddress.Address | Should -Be (Get-KernelSymbol init_task).Address
            # Pointers follow: init_task is its own real parent; the tasks list's next entry is init (pid 1).
            $init.real_parent.Read().comm | Should -Be 'swapper/0'
            $init.real_parent.Symbol | Should -Be 'init_task'
            (Get-KernelListEntry $init.tasks -Type task_struct -Member tasks | Select-Object -First 1).pid | Should -Be 1
        }

        It 'reads jiffies, which grows while the kernel runs' {
            Suspend-Lab
            $before = (Get-KernelVariable jiffies).Value
            Resume-Lab
            Start-Sleep -Seconds 2
            Suspend-Lab
            $after = (Get-KernelVariable jiffies).Value
            $after | Should -BeGreaterThan $before
            # HZ is 100 in the lab kernel: 2 s of wall time are far more than 20 ticks, even under TCG.
            ($after - $before) | Should -BeGreaterOrEqual 20
        }

        It 'reads the per-CPU runqueues of each CPU, each holding its own CPU number' {
            Suspend-Lab
            foreach ($cpu in 0..($lab.Cpus - 1)) {
                $rq = Get-KernelVariable runqueues -Cpu $cpu
                $rq.cpu | Should -Be $cpu
                $rq.KernelCpu | Should -Be $cpu
            }
            $all = @(Get-KernelVariable runqueues)
            $all.Count | Should -Be $lab.Cpus
            $all.cpu | Should -Be (0..($lab.Cpus - 1))
            # Different copies: each at its own per-CPU address.
            ($all | ForEach-Object { $_.KernelAddress.Address } | Sort-Object -Unique).Count | Should -Be $lab.Cpus
        }

        It 'reads a typed object at an address, and a pointer piped into Read-KernelObject' {
            Suspend-Lab
            $init = Read-KernelObject init_task -Type 'struct task_struct'
            $init.comm | Should -Be 'swapper/0'
            ($init.real_parent | Read-KernelObject).pid | Should -Be 0
            # A typed object piped in binds its own address and type.
            ($init | Read-KernelObject).comm | Should -Be 'swapper/0'
            $banner = Read-KernelObject linux_banner -Type char -Count 5
            ($banner | ForEach-Object { [char][byte]$_.Value }) -join '' | Should -Be 'Linux'
        }

        It 'walks an hlist: the tasks of init''s struct pid' {
            Suspend-Lab
            $init = Get-KernelTask -Pid 1 | Read-KernelObject
            $structPid = $init.thread_pid.Read()
            $structPid.KernelType | Should -Be 'struct pid'
            # struct pid's tasks[PIDTYPE_PID] is an hlist_head of task_struct.pid_links[PIDTYPE_PID].
            $entries = @(Get-KernelListEntry $structPid.tasks[0] -Type task_struct -Member 'pid_links[0]' -Hlist)
            $entries.Count | Should -Be 1
            $entries[0].pid | Should -Be 1
            $entries[0].KernelAddress.Address | Should -Be $init.KernelAddress.Address
        }

        It 'shows enums by name, char arrays as text, nested structs as objects of the same read' {
            Suspend-Lab
            $module = Get-KernelVariable modules | Get-KernelListEntry -Type module -Member list | Where-Object name -EQ 'kgdboe'
            $module.state.Name | Should -Be 'MODULE_STATE_LIVE'
            "$($module.state)" | Should -Be 'MODULE_STATE_LIVE'
            $module.state.Value | Should -Be 0
            $module.name | Should -BeOfType [string]
            # A nested struct is an object over the same bytes, at its own address inside the outer one.
            $module.list.KernelType | Should -Be 'struct list_head'
            $module.list.KernelAddress.Address | Should -BeGreaterThan $module.KernelAddress.Address
            $module.list.next.Type | Should -Be 'struct list_head'
            # A function pointer shows the function it points to.
            $ops = (Get-KernelVariable init_task).sched_class.Read()
            $functions = @($ops.psobject.Properties | Where-Object { $_.Value -is [KgdbOe.PowerShell.KernelPointerView] -and $_.Value.IsFunction -and -not $_.Value.IsNull })
            $functions.Count | Should -BeGreaterThan 0
            $functions | ForEach-Object { $_.Value.Symbol | Should -Not -BeNullOrEmpty }
        }
    }

    Context 'Tasks' {
        It 'lists every long-lived process /proc showed just before the stop, with the same pid, comm and parent' {
            # Long-lived: in two snapshots a second apart (the SSH commands' own processes come and go).
            $first = Get-LabProcess $lab
            Start-Sleep -Seconds 1
            $second = Get-LabProcess $lab
            $stable = @($second | Where-Object { $p = $_; $first | Where-Object { $_.Pid -eq $p.Pid -and $_.Comm -eq $p.Comm } })
            $stable.Count | Should -BeGreaterThan 10
            $stable.Comm | Should -Contain 'workload'

            Suspend-Lab
            $tasks = Get-KernelTask
            foreach ($p in $stable) {
                $task = $tasks | Where-Object Pid -EQ $p.Pid
                $task | Should -Not -BeNullOrEmpty -Because "pid $($p.Pid) ($($p.Comm)) was in /proc"
                $task.ParentPid | Should -Be $p.ParentPid -Because "pid $($p.Pid) ($($p.Comm))"
                if ($task.IsKernelThread) {
                    # /proc adds a workqueue's name to a kworker's comm ("kworker/0:1-events").
                    $p.Comm.StartsWith($task.Comm) | Should -BeTrue -Because "/proc says '$($p.Comm)', the task '$($task.Comm)'"
                } else {
                    $task.Comm | Should -Be $p.Comm
                }
            }
            $tasks[0].Pid | Should -Be 0
            ($tasks | Where-Object Pid -EQ 1).IsKernelThread | Should -BeFalse
            ($tasks | Where-Object Pid -EQ 2).IsKernelThread | Should -BeTrue
            $tasks.State | ForEach-Object { 'RSDTtXZPI'.Contains($_) | Should -BeTrue }
        }

        It 'gives the current task of each CPU' {
            Suspend-Lab
            $current = @(Get-KernelTask -Current)
            $current.Count | Should -Be $lab.Cpus
            $current.CurrentOnCpu | Should -Be (0..($lab.Cpus - 1))
            $current | ForEach-Object { $_.Cpu | Should -Be $_.CurrentOnCpu }
        }

        It 'pipes a task into Read-KernelObject and filters by pid and name' {
            Suspend-Lab
            $init = Get-KernelTask -Pid 1
            $init.Comm | Should -Be 'init'
            ($init | Read-KernelObject).pid | Should -Be 1
            (Get-KernelTask -Name 'workl*').Comm | Should -Be 'workload'
            @(Get-KernelTask -IncludeThread).Count | Should -BeGreaterOrEqual @(Get-KernelTask).Count
        }

        It 'shows tasks like ps' {
            Suspend-Lab
            $text = Get-KernelTask -Pid 1 | Out-String
            $text | Should -Match 'PID\s+PPID\s+CPU\s+ST\s+COMM\s+TASK'
            $text | Should -Match '\b1\s+0\s+\d+\s+[RSDTtXZPI]\s+init\s+0xffff[0-9a-f]{12}'
            $text | Should -Not -Match 'KgdbOe\.'
        }
    }

    Context 'Log' {
        It 'reads the last 50 records: the tail of dmesg before the stop, the test''s own line included' {
            $marker = "kgdboe-objects-test-$([guid]::NewGuid().ToString('N'))"
            Invoke-LabSsh -Lab $lab -Command "echo $marker > /dev/kmsg" | Out-Null
            $dmesg = @(Get-LabDmesg $lab)
            Suspend-Lab
            $records = @(Get-KernelLog -Last 50)
            $records.Count | Should -Be 50
            $lines = @($records | ForEach-Object { $_.Text -split "`n" })
            $at = [array]::IndexOf($lines, $marker)
            $at | Should -BeGreaterOrEqual 0 -Because 'the line written to /dev/kmsg is in the log'
            $dmesgAt = [array]::LastIndexOf($dmesg, $marker)
            $dmesgAt | Should -BeGreaterOrEqual 0
            # Every line up to the marker equals dmesg's (later lines came after dmesg ran: kgdboe's own).
            $count = [Math]::Min($at + 1, $dmesgAt + 1)
            $count | Should -BeGreaterThan 20
            $lines[($at - $count + 1)..$at] | Should -Be $dmesg[($dmesgAt - $count + 1)..$dmesgAt]
            ($records | Where-Object Text -EQ $marker).Facility | Should -Be 1 # user: written to /dev/kmsg
            $records.Sequence | Should -Be ($records[0].Sequence..$records[-1].Sequence)
        }

        It 'reads only records since a time' {
            Suspend-Lab
            $last = @(Get-KernelLog -Last 5)
            $since = @(Get-KernelLog -Since $last[2].Time)
            $since.Count | Should -BeGreaterOrEqual 3
            $since | ForEach-Object { $_.Time | Should -BeGreaterOrEqual $last[2].Time }
        }

        It 'shows records like dmesg' {
            Suspend-Lab
            $text = Get-KernelLog -Last 3 | Out-String
            $text | Should -Match '(?m)^\[\s*\d+\.\d{6}\] \S'
        }
    }

    Context 'Modules' {
        It 'lists the modules of /proc/modules, kgdboe with the same base and size' {
            $proc = (Invoke-LabSsh -Lab $lab -Command 'cat /proc/modules') -split "`n" | Where-Object { $_ } | ForEach-Object {
                $f = $_ -split ' '
                [pscustomobject]@{ Name = $f[0]; Size = [uint64]$f[1]; RefCount = [int]$f[2]; State = $f[4]; Base = [Convert]::ToUInt64($f[5].Substring(2), 16) }
            }
            Suspend-Lab
            $modules = @(Get-KernelModule)
            $modules.Name | Sort-Object | Should -Be ($proc.Name | Sort-Object)
            foreach ($p in $proc) {
                $m = $modules | Where-Object Name -EQ $p.Name
                $m.Size | Should -Be $p.Size
                $m.Base | Should -Be $p.Base
                $m.State | Should -Be $p.State
                $m.RefCount | Should -Be $p.RefCount
            }
            $kgdboe = Get-KernelModule kgdboe
            $kgdboe.Base | Should -Be ($proc | Where-Object Name -EQ 'kgdboe').Base
            $kgdboe.Size | Should -Be ($proc | Where-Object Name -EQ 'kgdboe').Size
            ($kgdboe | Read-KernelObject).name | Should -Be 'kgdboe'
            ($kgdboe | Out-String) | Should -Match ('kgdboe\s+{0}\s+\d+\s+Live\s+0x{1:x16}' -f $kgdboe.Size, $kgdboe.Base)
        }
    }

    Context 'Bad input' {
        It '<Name> fails with <Id> naming <Target>, and the session stays usable' -ForEach @(
            @{ Name = 'an unknown type'; Line = { Read-KernelObject init_task -Type no_such_type_kgdboe }; Id = 'KgdbOe.TypeNotFound'; Target = 'no_such_type_kgdboe' }
            @{ Name = 'an unknown member'; Line = { Get-KernelListEntry modules -Type module -Member no_such_member }; Id = 'KgdbOe.MemberNotFound'; Target = 'struct module.no_such_member' }
            @{ Name = 'a global BTF does not describe'; Line = { Get-KernelVariable linux_banner }; Id = 'KgdbOe.TypeNotFound'; Target = 'linux_banner' }
            @{ Name = 'an unknown variable'; Line = { Get-KernelVariable no_such_symbol_kgdboe }; Id = 'KgdbOe.UnknownSymbol'; Target = 'no_such_symbol_kgdboe' }
            @{ Name = 'a CPU the kernel lacks'; Line = { Get-KernelVariable runqueues -Cpu 7 }; Id = 'KgdbOe.BadArgument'; Target = 7 }
            @{ Name = 'a pointer into unmapped memory'; Line = { Read-KernelObject 0xffff800000000000 -Type task_struct }; Id = 'KgdbOe.BadPointer'; Target = '0xffff800000000000' }
            @{ Name = 'a pointer outside the kernel'; Line = { Read-KernelObject 0x10 -Type task_struct }; Id = 'KgdbOe.BadPointer'; Target = '0x0000000000000010' }
            @{ Name = 'a list through text'; Line = { Get-KernelListEntry linux_banner -Type task_struct -Member tasks }; Id = 'KgdbOe.BadPointer'; Target = '0x6576207875' + '6e694c' }
        ) {
            Suspend-Lab
            $err = Get-CommandError $Line
            Get-ErrorIdOf $err | Should -Be $Id
            $err.TargetObject | Should -Be $Target
            $err.Exception.Message | Should -Not -BeNullOrEmpty
            Assert-SessionUsable
        }

        It 'stops a cyclic list with KgdbOe.ListCycle after the entries before the loop' {
            Suspend-Lab
            # A "head" that is not in the list: init_task.tasks.prev leads into the tasks list, which never comes back to it.
            $init = Get-KernelVariable init_task
            $head = $init.tasks.KernelAddress.Address + 8
            $entries = [Collections.Generic.List[object]]::new()
            $err = Get-CommandError { Get-KernelListEntry $head -Type task_struct -Member tasks | ForEach-Object { $entries.Add($_) } }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.ListCycle'
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
            $entries.Count | Should -Be @(Get-KernelTask).Count
            $entries.comm | Should -Contain 'swapper/0'
            Assert-SessionUsable
        }

        It 'refuses to read a running kernel with KgdbOe.InvalidState' {
            Resume-Lab
            foreach ($line in { Get-KernelVariable init_task }, { Get-KernelTask }, { Get-KernelLog -Last 1 }, { Get-KernelModule }) {
                Get-ErrorIdOf (Get-CommandError $line) | Should -Be 'KgdbOe.InvalidState'
            }
            Assert-SessionUsable
        }
    }

    Context 'Interactive use' {
        It 'tab-completes member names of the -Type' {
            Suspend-Lab
            $line = 'Get-KernelListEntry modules -Type module -Member li'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'list'
            $line = 'Get-KernelListEntry $h -Type task_struct -Member se.group_n'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'se.group_node'
        }

        It 'shows a typed object with its members, pointers in hex, and no .NET type names' {
            Suspend-Lab
            $text = Get-KernelVariable init_task | Format-List comm, pid, real_parent, tasks, KernelAddress, KernelType | Out-String
            $text | Should -Match 'comm\s+: swapper/0'
            $text | Should -Match 'real_parent\s+: 0xffffffff[0-9a-f]{8} <init_task>'
            $text | Should -Match 'tasks\s+: \{next=0xffff[0-9a-f]{12}, prev=0xffff[0-9a-f]{12}\}'
            $text | Should -Not -Match 'KgdbOe\.'
        }
    }

    # Last: it ends the suite's session.
    Context 'Without BTF' {
        It 'says KgdbOe.NoBtf for a kernel whose symbols have no __start_BTF, and reads memory still' {
            $map = Join-Path $TestDrive "System.map-nobtf-$kernel"
            Get-Content $lab.SystemMap | Where-Object { $_ -notmatch ' __(start|stop)_BTF$' } | Set-Content $map
            Disconnect-KernelTarget -Target $session -Confirm:$false
            $nobtf = Connect-KernelTarget 127.0.0.1 -Port $lab.DebugPort -SystemMap $map -Name "objects-$kernel-nobtf"
            try {
                foreach ($line in { Get-KernelVariable init_task }, { Get-KernelTask }, { Get-KernelLog -Last 1 }, { Get-KernelModule },
                    { Read-KernelObject init_task -Type task_struct }, { Get-KernelListEntry modules -Type module -Member list }) {
                    $err = Get-CommandError $line
                    Get-ErrorIdOf $err | Should -Be 'KgdbOe.NoBtf'
                    $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
                }
                (Read-KernelMemory linux_banner 13 -Target $nobtf).ReadString() | Should -Be 'Linux version'
            } finally {
                Disconnect-KernelTarget -Target $nobtf -Confirm:$false # lets the kernel run
            }
        }
    }
}
