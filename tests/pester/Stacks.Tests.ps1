# Backtraces and disassembly against real lab kernels through kgdboe: the stack at a breakpoint the
# workload hits, checked against stock gdb's bt (vmlinux with DWARF) on the same breakpoint; a
# sleeping task's stack against the kernel's own /proc/<pid>/stack; every CPU's stack; five
# functions' disassembly against objdump -d of the lab's vmlinux; the bad inputs with their ids.
#
# Set KGDBOE_STACKS_LAB to a name prefix of your own while developing, so the shared test labs are
# not disturbed.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')

    $script:ModuleDir = Import-KgdbOeTestModule

    # All names /proc/kallsyms gives an address (__x64_sys_getppid and __do_sys_getppid share one).
    function Get-LabNamesAt($Lab, [uint64] $Address) {
        (Invoke-LabSsh -Lab $Lab -Command ('grep -i "^{0:x16} " /proc/kallsyms' -f $Address)) -split "`n" |
            ForEach-Object { ($_ -split '\s+')[2] }
    }

    function Invoke-LabGdb($Lab, [string[]] $Commands, [int] $TimeoutSeconds = 300) {
        # Stock gdb in batch mode (the commands attach it); returns its output.
        (Invoke-StockGdb -Commands $Commands -TimeoutSeconds $TimeoutSeconds).Output
    }

    # gdb's bt as physical frames: a line without "0x... in" after frame 0 is an inlined function's
    # caller sharing the previous frame's pc, so each physical frame is named by its outermost function.
    # Frames in user space ("0x00007f... in ?? ()": gdb reads on past the entry code) are left out.
    function ConvertFrom-GdbBacktrace([string] $Text, [uint64] $StopPc) {
        $frames = [Collections.Generic.List[object]]::new()
        foreach ($line in $Text -split "`n") {
            if ($line -notmatch '^#(\d+)\s+(?:0x([0-9a-f]+) in )?(\S+) \(') { continue }
            $pc = if ($Matches[2]) { [Convert]::ToUInt64($Matches[2], 16) } else { $null }
            $name = $Matches[3]
            if ($Matches[1] -eq '0') { $frames.Add([pscustomobject]@{ Pc = $StopPc; Function = $name }); continue }
            if ($null -eq $pc) { $frames[$frames.Count - 1].Function = $name; continue }
            if ($pc -lt 0xffff800000000000u) { break }
            $frames.Add([pscustomobject]@{ Pc = $pc; Function = $name })
        }
        $frames
    }

    # objdump -d of the lab's vmlinux (link-time addresses) over a run-time range.
    function Get-ObjdumpListing([string] $Vmlinux, [uint64] $Start, [uint64] $End, [long] $Slide) {
        $from = '0x{0:x}' -f ($Start - $Slide)
        $to = '0x{0:x}' -f ($End - $Slide)
        & objdump -d --insn-width=16 "--start-address=$from" "--stop-address=$to" $Vmlinux |
            Where-Object { $_ -match '^\s*([0-9a-f]{16}):\t([0-9a-f ]+?)\s*\t(.*)$' } |
            ForEach-Object {
                [pscustomobject]@{
                    Address = [Convert]::ToUInt64($Matches[1], 16) + $Slide
                    Bytes   = $Matches[2].Trim()
                    Text    = $Matches[3].TrimEnd()
                }
            }
    }

    # Our text with the KASLR slide taken back out of every kernel address, so it reads like objdump's
    # listing of vmlinux (the only normalisation: the spelling itself must be objdump's).
    function ConvertTo-LinkTimeText([string] $Text, [long] $Slide) {
        [regex]::Replace($Text, '\bffffffff[0-9a-f]{8}\b', { param($m) '{0:x}' -f ([Convert]::ToUInt64($m.Value, 16) - $Slide) })
    }

    # The kernel's own rule for /proc/<pid>/stack: functions in the __sched section (schedule,
    # __schedule, do_nanosleep...) are left out of a sleeping task's trace (in_sched_functions()).
    function Test-SchedFunction($Session, [uint64] $Pc) {
        $start = (Get-KernelSymbol __sched_text_start -Target $Session).Address
        $end = (Get-KernelSymbol __sched_text_end -Target $Session).Address
        $Pc -ge $start -and $Pc -lt $end
    }
}

BeforeDiscovery {
    # Both lab kernels; KGDBOE_STACKS_KERNELS=6.12 narrows it while developing.
    $kernels = if ($env:KGDBOE_STACKS_KERNELS) { $env:KGDBOE_STACKS_KERNELS -split ',' } else { '6.12', '6.1' }
}

Describe 'Stacks and disassembly on <Kernel>' -Tag 'Lab', 'Stacks' -ForEach @($kernels | ForEach-Object { @{ Kernel = $_ } }) {
    BeforeAll {
        $labArgs = @{ Kernel = $Kernel; Nic = 'e1000'; Cpus = 2 }
        if ($env:KGDBOE_STACKS_LAB) { $labArgs.Name = "$env:KGDBOE_STACKS_LAB-$Kernel" }
        $lab = Get-TestLab @labArgs

        # What the guest says about itself, asked while it runs (a stopped kernel answers no SSH).
        Invoke-LabSsh -Lab $lab -Command 'killall workload sleep 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
        $getppidAddress = [uint64]('0x' + ((Invoke-LabSsh -Lab $lab -Command "grep ' __x64_sys_getppid`$' /proc/kallsyms") -split '\s+')[0])
        $getppidNames = Get-LabNamesAt $lab $getppidAddress
        # A task asleep in nanosleep, and the kernel's own unwind of it.
        $sleepPid = [int](Invoke-LabSsh -Lab $lab -Command 'sleep 1000 >/dev/null 2>&1 </dev/null & echo $!')
        Start-Sleep -Milliseconds 500
        $procStack = (Invoke-LabSsh -Lab $lab -Command "cat /proc/$sleepPid/stack") -split "`n" |
            Where-Object { $_ -match '\] ([^+ ]+)\+' } | ForEach-Object { $Matches[1] }
        Invoke-LabSsh -Lab $lab -Command 'workload 0 2000 >/dev/null 2>&1 </dev/null &' | Out-Null

        # Keyless: the same stop is compared with stock gdb's bt, and gdb speaks only the raw wire.
        $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -KeyFilePath $lab.KeyPath `
            -KnownHostsPath $lab.KnownHostsPath -ModulePath (Get-LabKernelModule -Lab $lab) -DebugPort $lab.DebugPort `
            -SystemMap $lab.SystemMap -NoKey -Confirm:$false -ErrorAction Stop
        $session = $installation | Connect-KernelTarget -Name "stacks-$Kernel"
        $slide = $session.KaslrSlide
        $breakpoint = Set-KernelBreakpoint __x64_sys_getppid -Confirm:$false
        $stop = Resume-KernelTarget -Wait -Timeout 60 -Confirm:$false
    }

    AfterAll {
        if ($session -and -not $session.IsClosed) {
            Remove-KernelBreakpoint -All -Target $session -Confirm:$false -ErrorAction Continue
            Disconnect-KernelTarget -Target $session -Confirm:$false -ErrorAction Continue
        }
        Invoke-LabSsh -Lab $lab -Command 'killall workload sleep 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
    }

    Context 'Backtraces' {
        It 'unwinds the stop in __x64_sys_getppid through do_syscall_64 to entry_SYSCALL_64 and ends cleanly' {
            $stop.ProgramCounter | Should -Be $getppidAddress
            $errors = $null
            $frames = @(Get-KernelStack -ErrorVariable errors)
            $errors | Should -BeNullOrEmpty
            $names = $frames.Function
            $frames[0].Pc | Should -Be $getppidAddress
            $frames[0].Function | Should -BeIn $getppidNames
            $frames[0].Unwinder | Should -Be 'regs'
            $iSyscall = [array]::IndexOf($names, 'do_syscall_64')
            $iEntry = @(0..($names.Count - 1) | Where-Object { $names[$_] -like 'entry_SYSCALL_64*' })[0]
            $iSyscall | Should -BeGreaterThan 0 -Because ($names -join ' < ')
            $iEntry | Should -BeGreaterThan $iSyscall -Because ($names -join ' < ')
            $iEntry | Should -Be ($frames.Count - 1) -Because 'the entry code is the user-mode boundary'
            $frames | Select-Object -Skip 1 | ForEach-Object { $_.Unwinder | Should -Be 'orc' }
            $frames.Reliable | Should -Not -Contain $false
            $frames.Module | Sort-Object -Unique | Should -Be ''
            # Each return address follows a call instruction of its function.
            foreach ($f in $frames | Select-Object -Skip 1) {
                $call = $f | Get-KernelDisassembly | Where-Object { $_.Address + [uint64]$_.Bytes.Length -eq $f.Pc }
                $call.Mnemonic | Should -BeLike 'call*' -Because ('{0} follows a call' -f $f.Location)
            }
        }

        It 'names and types the arguments at the function''s entry from BTF (-Arguments)' {
            $frames = @(Get-KernelStack -Arguments)
            $arguments = @($frames[0].Arguments)
            # __x64_sys_getppid(const struct pt_regs *regs): the syscall's saved registers, which the entry code
            # pushed at the sp it called do_syscall_64 from (the last frame's sp).
            $arguments.Count | Should -Be 1
            $arguments[0].Register | Should -Be 'rdi'
            $arguments[0].Type | Should -Match 'struct pt_regs \*'
            $arguments[0].Name | Should -Not -BeNullOrEmpty
            $arguments[0].Value | Should -Be (Get-KernelRegister rdi).Value
            $arguments[0].Value | Should -Be $frames[-1].Sp
            $frames[1].Arguments | Should -BeNullOrEmpty
        }

        It 'gives the stopped CPU''s stack for its CPU thread too, and every other CPU''s from the roundup' {
            $mine = @(Get-KernelStack)
            $threads = @(Get-KernelThread | Where-Object IsCpu)
            $threads.Count | Should -Be 2
            foreach ($thread in $threads) {
                $errors = $null
                $frames = @($thread | Get-KernelStack -ErrorVariable errors -ErrorAction SilentlyContinue)
                $frames[0].ThreadId | Should -Be $thread.Id
                # kgdboe parks the other CPUs in an IPI handler of its own before kgdb freezes them, so their
                # stacks start in module code: the module's ORC table (struct module's arch) unwinds it.
                $errors | Should -BeNullOrEmpty
                Write-Host ("    CPU {0}: {1}" -f $thread.Cpu, (($frames | ForEach-Object { if ($_.Location) { $_.Location } else { '0x{0:x}' -f $_.Pc } }) -join ' < '))
                if ($frames[0].Pc -ge 0xffffffffc0000000u) {
                    $frames[0].Unwinder | Should -Be 'regs'
                    $frames[1].Unwinder | Should -Be 'orc' -Because 'a module frame is unwound by its module''s ORC table'
                }
                if ($frames.Count -eq 0) {
                    # Caught in user mode: no kernel frames at all.
                    ((Get-KernelRegister cs -ThreadId $thread.Id).Value -band 3) | Should -Be 3
                    continue
                }
                $frames.Count | Should -BeGreaterThan 1
                $frames[0].Unwinder | Should -Be 'regs'
                if ($frames[0].Pc -eq $mine[0].Pc) {
                    $frames.Pc | Should -Be $mine.Pc
                } else {
                    # Another CPU, caught by the roundup: its stack ends at a task's or the idle loop's start.
                    $frames[-1].Function | Should -Match '^(ret_from_fork|ret_from_fork_asm|secondary_startup_64.*|common_startup_64|start_secondary|entry_SYSCALL_64.*|asm_.*|x86_64_start_reservations)$' -Because ($frames.Function -join ' < ')
                }
            }
            (Get-KernelStack -Cpu 1).Pc | Should -Be (Get-KernelThread | Where-Object Cpu -EQ 1 | Get-KernelStack).Pc
        }

        It 'gives a sleeping task''s stack from its switch frame, as /proc/<pid>/stack names it' {
            $procStack | Should -Not -BeNullOrEmpty
            $errors = $null
            $frames = @(Get-KernelStack -ThreadId ('{0:x}' -f $sleepPid) -ErrorVariable errors)
            $errors | Should -BeNullOrEmpty
            $shown = @($frames | Where-Object { -not (Test-SchedFunction $session $_.Pc) } | ForEach-Object Function)
            $shown | Should -Be $procStack
            ($frames | Where-Object { Test-SchedFunction $session $_.Pc }).Count | Should -BeGreaterThan 0 -Because 'a sleeper sits in schedule()'
        }

        It 'gives a task''s stack from its task_struct (BTF layout), piped from Get-KernelTask' {
            # The sleeper: from its switch frame, the same frames as through kgdb's task thread.
            $byThread = @(Get-KernelStack -ThreadId ('{0:x}' -f $sleepPid))
            $sleeper = Get-KernelTask -Pid $sleepPid
            $sleeper.Pid | Should -Be $sleepPid
            $errors = $null
            $byTask = @($sleeper | Get-KernelStack -ErrorVariable errors)
            $errors | Should -BeNullOrEmpty
            $byTask | ForEach-Object Pc | Should -Be ($byThread | ForEach-Object Pc)
            # The task that hit the breakpoint is running: its stack is its CPU's.
            $current = @(Get-KernelTask -Current | Where-Object { $_.Comm -eq 'workload' })
            $current.Count | Should -Be 1
            (Get-KernelStack -TaskAddress $current[0].Address | ForEach-Object Pc) | Should -Be (Get-KernelStack | ForEach-Object Pc)
        }

        It 'emits the frames found and KgdbOe.UnwindFailed when a frame cannot be unwound' {
            # pc in data (no ORC entry there: the frame-pointer guess) and rbp pointing at unmapped memory.
            $rbp = (Get-KernelRegister rbp).Value
            $banner = (Get-KernelSymbol linux_banner).Address
            try {
                Set-KernelRegister rip $banner -Confirm:$false
                Set-KernelRegister rbp 0x1000 -Confirm:$false
                $errors = $null
                $frames = @(Get-KernelStack -ErrorVariable errors -ErrorAction SilentlyContinue)
                $frames.Count | Should -Be 1
                $frames[0].Pc | Should -Be $banner
                $errors.Count | Should -Be 1
                Get-ErrorIdOf $errors[0] | Should -Be 'KgdbOe.UnwindFailed'
                $errors[0].TargetObject | Should -Be ('0x{0:x16}' -f $banner)
                $errors[0].Exception.Message | Should -Match 'linux_banner.*0x1000'
            } finally {
                Set-KernelRegister rbp $rbp -Confirm:$false
                Set-KernelRegister rip $getppidAddress -Confirm:$false
            }
            $errors = $null
            (Get-KernelStack -ErrorVariable errors).Count | Should -BeGreaterThan 2
            $errors | Should -BeNullOrEmpty
        }

        It 'refuses a running kernel with KgdbOe.InvalidState' {
            Remove-KernelBreakpoint -All -Confirm:$false
            Resume-KernelTarget -Confirm:$false
            try {
                $err = Get-CommandError { Get-KernelStack }
                Get-ErrorIdOf $err | Should -Be 'KgdbOe.InvalidState'
                $err.Exception.Message | Should -Match 'running'
            } finally {
                # Back to a stop on the breakpoint for the tests that follow.
                $null = Suspend-KernelTarget -Confirm:$false
                $null = Set-KernelBreakpoint __x64_sys_getppid -Confirm:$false
                $again = Resume-KernelTarget -Wait -Timeout 60 -Confirm:$false
            }
            $again.ProgramCounter | Should -Be $getppidAddress
        }
    }

    Context 'Disassembly' {
        It 'disassembles <_> as objdump -d does, instruction by instruction' -ForEach @(
            '__x64_sys_getppid', 'vfs_read', 'do_nanosleep', 'kgdb_breakpoint', 'schedule'
        ) {
            $instructions = @(Get-KernelDisassembly -Name $_)
            $start = $instructions[0].Address
            $end = $instructions[-1].Address + [uint64]$instructions[-1].Bytes.Length
            $start | Should -Be (Get-KernelSymbol $_).Address
            $listing = @(Get-ObjdumpListing $lab.Vmlinux $start $end $slide)
            $listing.Count | Should -BeGreaterThan 0
            $byAddress = @{}
            foreach ($l in $listing) { $byAddress[$l.Address] = $l }
            $same = 0; $patched = 0
            foreach ($i in $instructions) {
                $ours = ConvertTo-LinkTimeText $i.Text $slide
                $theirs = $byAddress[$i.Address]
                if ($theirs -and $theirs.Bytes -eq $i.BytesHex) {
                    $ours | Should -BeExactly $theirs.Text -Because ('at {0} ({1})' -f $i.Location, $i.BytesHex)
                    $same++
                } else {
                    # The kernel rewrote this code at boot (alternatives, static calls, ftrace's nops):
                    # objdump must still spell these very bytes as we do.
                    $patched++
                    $file = New-TemporaryFile
                    try {
                        [IO.File]::WriteAllBytes($file.FullName, $i.Bytes)
                        $raw = & objdump -D -b binary -m i386:x86-64 --insn-width=16 "--adjust-vma=0x$('{0:x}' -f $i.Address)" $file.FullName |
                            Where-Object { $_ -match '^\s*[0-9a-f]+:\t[0-9a-f ]+\t(.*)$' } | ForEach-Object { $Matches[1].TrimEnd() } | Select-Object -First 1
                    } finally { Remove-Item $file -ErrorAction Ignore }
                    # A bare binary has no symbols: compare without the <symbol> objdump cannot know.
                    ($i.Text -replace ' <[^>]*>', '') | Should -BeExactly ($raw -replace ' <[^>]*>', '') -Because ('patched code at {0}' -f $i.Location)
                }
            }
            $same | Should -BeGreaterThan ($instructions.Count / 2) -Because "$patched of $($instructions.Count) instructions differ from vmlinux"
            Write-Host ('    {0}: {1} instructions, {2} as in vmlinux, {3} patched at boot' -f $_, $instructions.Count, $same, $patched)
        }

        It 'shows the original bytes under the planted breakpoint and marks the current pc' {
            $instructions = @(Get-KernelDisassembly -Name __x64_sys_getppid)
            $first = $instructions[0]
            $first.IsCurrent | Should -BeTrue
            $first.IsBreakpoint | Should -BeTrue
            $first.Bytes[0] | Should -Not -Be 0xcc -Because 'kgdb lifts its int3s while the kernel is stopped'
            $first.Text | Should -Not -Match 'int3'
            # As in vmlinux, unless it is the ftrace call site that the kernel turned into a 5-byte nop at boot
            # (6.1 has no endbr64 in front of it).
            $file = (Get-ObjdumpListing $lab.Vmlinux $first.Address ($first.Address + [uint64]$first.Bytes.Length) $slide)[0]
            if ($file.Text -match '<__fentry__>') { $first.Text | Should -Match '^nopl\s+0x0\(%rax,%rax,1\)$' }
            else { $first.BytesHex | Should -Be $file.Bytes }
            @($instructions | Where-Object IsCurrent).Count | Should -Be 1
        }

        It 'disassembles -Count instructions or -Length bytes from an address, in Intel on request' {
            $four = @(Get-KernelDisassembly -Address __x64_sys_getppid -Count 4)
            $four.Count | Should -Be 4
            $bytes = @(Get-KernelDisassembly -Address __x64_sys_getppid -Length 9)
            ($bytes | ForEach-Object { $_.Bytes.Length } | Measure-Object -Sum).Sum | Should -BeGreaterOrEqual 9
            $intel = @(Get-KernelDisassembly -Address vfs_read -Count 6 -Syntax Intel)
            $expected = & objdump -d -M intel --insn-width=16 "--start-address=0x$('{0:x}' -f ($intel[0].Address - $slide))" "--stop-address=0x$('{0:x}' -f ($intel[-1].Address + [uint64]$intel[-1].Bytes.Length - $slide))" $lab.Vmlinux |
                Where-Object { $_ -match '^\s*[0-9a-f]{16}:\t[0-9a-f ]+?\s*\t(.*)$' } | ForEach-Object { $Matches[1].TrimEnd() }
            $listing = @(Get-ObjdumpListing $lab.Vmlinux $intel[0].Address ($intel[-1].Address + [uint64]$intel[-1].Bytes.Length) $slide)
            for ($i = 0; $i -lt $intel.Count; $i++) {
                if ($listing[$i].Bytes -ne $intel[$i].BytesHex) { continue } # patched at boot
                (ConvertTo-LinkTimeText $intel[$i].Text $slide) | Should -BeExactly $expected[$i]
            }
            # A stack frame pipes its pc in: the function around it comes back, the pc inside it.
            $frame = (Get-KernelStack)[1]
            $around = @($frame | Get-KernelDisassembly)
            $around[0].Address | Should -BeLessThan $frame.Pc
            # (ForEach-Object: an array's own Address() method hides member enumeration.)
            $around | ForEach-Object Address | Should -Contain $frame.Pc
        }

        It 'fails with <Id> on <Line>' -ForEach @(
            @{ Line = { Get-KernelDisassembly -Name no_such_function_kgdboe }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Get-KernelDisassembly -Address 0x1000 }; Id = 'KgdbOe.NoFunction' }
            @{ Line = { Get-KernelDisassembly -Address 0x10 -Length 16 }; Id = 'KgdbOe.TargetError' }
        ) {
            $err = Get-CommandError $Line
            Get-ErrorIdOf $err | Should -Be $Id
            (Read-KernelMemory linux_banner 13).ReadString() | Should -Be 'Linux version'
        }
    }

    Context 'Against stock gdb' {
        It 'names the same frames at the same pcs as gdb''s bt on the same breakpoint' {
            $ours = @(Get-KernelStack | ForEach-Object {
                    [pscustomobject]@{ Pc = $_.Pc; Function = $_.Function; SymbolAddress = (Get-KernelSymbol $_.Function).Address } })
            $stopPc = $ours[0].Pc
            # gdb needs the target to itself: hand the kernel back, then let gdb stop on the same breakpoint.
            Remove-KernelBreakpoint -All -Confirm:$false
            Disconnect-KernelTarget -Target $session -Confirm:$false
            $gdb = Invoke-LabGdb $lab @(
                ('symbol-file -o 0x{0:x} {1}' -f $slide, $lab.Vmlinux)
                "target remote udp:127.0.0.1:$($lab.DebugPort)"
                ('break *0x{0:x}' -f $stopPc)
                'continue'
                'bt 20'
                'delete'
                'detach')
            $theirs = @(ConvertFrom-GdbBacktrace $gdb $stopPc)
            $theirs.Count | Should -Be $ours.Count -Because $gdb
            for ($i = 0; $i -lt $ours.Count; $i++) {
                $theirs[$i].Pc | Should -Be $ours[$i].Pc -Because $gdb
                # Names: gdb takes DWARF's function (__do_sys_getppid; entry_SYSCALL_64), we take the symbol
                # table's nearest name at or below pc (__x64_sys_getppid, an alias at the same address;
                # entry_SYSCALL_64_after_hwframe, a global label inside entry_SYSCALL_64).
                $ourName = $ours[$i].Function
                $aliases = @($ourName) + @(Get-LabNamesAt $lab $ours[$i].SymbolAddress)
                ($theirs[$i].Function -in $aliases -or $ourName.StartsWith($theirs[$i].Function + '_')) |
                    Should -BeTrue -Because "frame $i is $ourName here and $($theirs[$i].Function) in gdb"
            }
        }
    }
}
