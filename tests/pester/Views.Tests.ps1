# How KgdbOe's objects look on screen (KgdbOe.Format.ps1xml), rendered from real objects.
#
# Every output type the cmdlets declare has a table and a list view. Against a real kernel (kgdboe
# installed with Install-KgdboeModule and connected over UDP, then QEMU's gdbstub over TCP on the
# same VM) one object of each type is made by the real cmdlets and rendered by Format-Table,
# Format-List and the default view: kernel addresses appear as 0x + 16 hex digits (the ones the
# guest's /proc/kallsyms gives), code addresses as symbol+0x.., no .NET type name and no kernel
# address in decimal anywhere, and no list line without a value. A breakpoint stop names the CPU
# its task was pinned to (taskset) and, on KGDB, the task's pid.
#
# Set KGDBOE_VIEWS_LAB to a lab name of your own while developing, so the shared test labs are
# not disturbed. At the end the guest runs, kgdboe is unloaded and no debugger is attached.
BeforeDiscovery {
    # The types to test are found in the built module, so the module is loaded for discovery too.
    . (Join-Path $PSScriptRoot 'Views.Fixture.ps1')
    $declaredTypeNames = @(Get-DeclaredOutputType | ForEach-Object FullName)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    . (Join-Path $PSScriptRoot 'Views.Fixture.ps1')
}

Describe 'Every output type has its views' -Tag 'Views' {
    BeforeAll {
        $types = @(Get-DeclaredOutputType)
        $formats = @{}
        foreach ($type in $types) {
            $formats[$type.FullName] = @(Get-FormatData -TypeName $type.FullName -PowerShellVersion $PSVersionTable.PSVersion |
                ForEach-Object FormatViewDefinition)
        }
    }

    It 'finds the output types in KgdbOe.dll' {
        # The eight of today; a new one must show up here and then get its views.
        $types.Name | Should -Contain 'KernelTargetSession'
        $types.Name | Should -Contain 'KernelStop'
        $types.Name | Should -Contain 'KgdboeInstallation'
        $types.Count | Should -BeGreaterOrEqual 8
    }

    It '<_> has a table view and a list view' -ForEach $declaredTypeNames {
        $views = @(Get-FormatData -TypeName $_ -PowerShellVersion $PSVersionTable.PSVersion | ForEach-Object FormatViewDefinition)
        @($views | Where-Object { $_.Control -is [System.Management.Automation.TableControl] }).Count | Should -BeGreaterOrEqual 1 -Because "$_ needs a table view"
        @($views | Where-Object { $_.Control -is [System.Management.Automation.ListControl] }).Count | Should -BeGreaterOrEqual 1 -Because "$_ needs a list view"
    }

    It 'defines views only for types that exist' {
        [xml]$xml = Get-Content -Raw (Join-Path $ModuleDir 'KgdbOe.Format.ps1xml')
        $assembly = (Get-Module KgdbOe).ImplementingAssembly
        # Some outputs are KgdbOe.Core's own types (a log record): look there too.
        $core = $assembly.GetType('KgdbOe.PowerShell.KernelTargetSession').GetProperty('Client').PropertyType.Assembly
        foreach ($name in $xml.Configuration.ViewDefinitions.View.ViewSelectedBy.TypeName | Sort-Object -Unique) {
            @($assembly.GetType($name), $core.GetType($name)) -ne $null | Should -Not -BeNullOrEmpty -Because "the view for $name selects a real type"
        }
    }
}

Describe 'Views of objects from <Name>' -Tag 'Lab', 'Views' -ForEach @(
    @{ Name = 'kgdboe'; Kind = 'Kgdb' }
    @{ Name = 'QEMU''s gdbstub'; Kind = 'QemuGdbStub' }
) {
    BeforeAll {
        $viaGdbStub = $Kind -eq 'QemuGdbStub'
        # One VM for both: it has QEMU's gdbstub, and kgdboe is loaded into it for the first half.
        $labArgs = @{ Kernel = '6.12'; Nic = 'e1000'; Cpus = 2; GdbStub = $true }
        if ($env:KGDBOE_VIEWS_LAB) { $labArgs.Name = $env:KGDBOE_VIEWS_LAB }
        $lab = Get-TestLab @labArgs

        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
        $bannerAddress = Get-LabRuntimeAddress $lab 'linux_banner'
        $getppidAddress = Get-LabRuntimeAddress $lab '__x64_sys_getppid'
        $textAddress = Get-LabRuntimeAddress $lab '_text'
        $panicAddress = Get-LabRuntimeAddress $lab 'panic_timeout'
        $getppidNames = (Invoke-LabSsh -Lab $lab -Command ('grep -i "^{0:x16} " /proc/kallsyms' -f $getppidAddress)) -split "`n" |
            ForEach-Object { ($_ -split '\s+')[2] }
        # A task that calls getppid() every 2 ms on CPU 1 only; its pid is the reference for the stop.
        $workloadPid = [int](Invoke-LabSsh -Lab $lab -Command 'taskset 0x2 workload 0 2000 >/dev/null 2>&1 </dev/null & echo $!')

        $objects = [ordered]@{}
        if ($viaGdbStub) {
            $session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.GdbPort -Transport Tcp -SystemMap $lab.SystemMap -Name 'views' -ErrorAction Stop
        } else {
            $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -KeyFilePath $lab.KeyPath `
                -KnownHostsPath $lab.KnownHostsPath -ModulePath (Get-LabKernelModule -Lab $lab) -DebugPort $lab.DebugPort `
                -SystemMap $lab.SystemMap -Confirm:$false -ErrorAction Stop
            $objects.KgdboeInstallation = $installation
            $session = $installation | Connect-KernelTarget -Name 'views' -ErrorAction Stop
        }
        $objects.KernelTargetSession = $session
        $interrupt = $session.LastStop
        # A KGDB session's first hardware breakpoint first checks that the kernel reports hits (it runs
        # the kernel up to 3 s and stops elsewhere): done here, so the stops shown below stay the last.
        Set-KernelBreakpoint -Target $session panic_timeout -Kind WriteWatch -Length 4 -Confirm:$false |
            Remove-KernelBreakpoint -Confirm:$false
        $breakpoint = Set-KernelBreakpoint -Target $session __x64_sys_getppid -Confirm:$false
        # The workload's own stop: another task may call getppid() first now and then (QEMU names
        # no task, so there the first stop counts).
        $hit = $null
        for ($i = 0; $i -lt 10 -and -not $hit; $i++) {
            $stop = Resume-KernelTarget -Target $session -Wait -Timeout 60 -Confirm:$false
            if ($viaGdbStub -or $stop.Pid -eq $workloadPid) { $hit = $stop }
        }
        $objects.KernelStop = @($interrupt, $hit)
        # The collecting mode's records: two hits, after which the kernel runs on; the next hit stops it again.
        $objects.KernelBreakpointHit = @(Watch-KernelBreakpoint -Target $session -InputObject $breakpoint -Count 2 -Timeout 120 -Confirm:$false)
        $null = Wait-KernelTarget -Target $session -Timeout 60
        # Set while stopped and removed before any resume: it only has to be shown.
        $watchpoint = Set-KernelBreakpoint -Target $session panic_timeout -Kind WriteWatch -Length 4 -Confirm:$false
        $objects.KernelBreakpoint = @($breakpoint, $watchpoint)
        $objects.KernelRegister = Get-KernelRegister -Target $session
        # CPUs first (both stubs list them before tasks), then a few tasks on KGDB.
        $objects.KernelThread = Get-KernelThread -Target $session | Select-Object -First 6
        $objects.KernelSymbol = @(
            Get-KernelSymbol -Target $session linux_banner
            Get-KernelSymbol -Target $session -Address ($bannerAddress + 6)
        )
        $objects.KernelMemoryBlock = Read-KernelMemory -Target $session linux_banner 64
        # What the kernel-object, type, stack and disassembly cmdlets write (types from BTF).
        $objects.KernelTypeInfo = Get-KernelType -Target $session list_head
        $objects.KernelTask = Get-KernelTask -Target $session | Select-Object -First 3
        $objects.KernelLogRecord = Get-KernelLog -Target $session -Last 3
        $objects.KernelInstruction = Get-KernelDisassembly -Target $session -Name __x64_sys_getppid | Select-Object -First 4
        if (-not $viaGdbStub) {
            # kgdboe is the guest's one module; a stack is unwound from kgdb's view of the CPU.
            $objects.KernelModule = Get-KernelModule -Target $session
            $objects.KernelStackFrame = Get-KernelStack -Target $session
        }
        $renderings = @{}
        foreach ($type in $objects.Keys) { $renderings[$type] = Get-Rendering $objects[$type] }
        if ($env:KGDBOE_VIEWS_DUMP) {
            # For a reviewer: every rendering as text, one file per stub.
            $dump = foreach ($type in $renderings.Keys) { foreach ($view in 'Table', 'List', 'Default') { "### $type | $view"; $renderings[$type][$view] } }
            $dump | Set-Content (Join-Path $env:KGDBOE_VIEWS_DUMP "views-$Kind.txt")
        }
        $watchpoint | Remove-KernelBreakpoint -Confirm:$false
        $names = ($getppidNames | ForEach-Object { [regex]::Escape($_) }) -join '|'
    }

    AfterAll {
        if ($session -and -not $session.IsClosed) {
            Remove-KernelBreakpoint -All -Target $session -Confirm:$false -ErrorAction Continue
            Disconnect-KernelTarget -Target $session -Confirm:$false -ErrorAction Continue
        }
        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
    }

    It 'made one object of each output type' {
        # Through QEMU's gdbstub no module is loaded (kgdboe went with the first half) and stacks
        # are unwound from kgdb's CPU threads only.
        # KernelCoreSummary takes a whole-RAM capture (minutes): Core.Tests.ps1 makes one and renders it with Assert-ReadsWell.
        $expected = @(Get-DeclaredOutputType | ForEach-Object Name | Where-Object { $_ -ne 'KernelCoreSummary' } |
                Where-Object { -not $viaGdbStub -or $_ -notin 'KgdboeInstallation', 'KernelModule', 'KernelStackFrame' })
        @($objects.Keys) | Sort-Object | Should -Be ($expected | Sort-Object)
        foreach ($type in $objects.Keys) {
            @($objects[$type])[0].GetType().Name | Should -Be $type
        }
    }

    It '<_> reads well in its table, list and default views' -ForEach @(
        'KgdboeInstallation', 'KernelTargetSession', 'KernelStop', 'KernelRegister', 'KernelThread', 'KernelSymbol', 'KernelMemoryBlock', 'KernelBreakpoint',
        'KernelTypeInfo', 'KernelTask', 'KernelLogRecord', 'KernelInstruction', 'KernelModule', 'KernelStackFrame', 'KernelBreakpointHit'
    ) {
        if (-not $objects.Contains($_)) { Set-ItResult -Skipped -Because "$Name does not make one (see 'made one object of each output type')"; return }
        foreach ($view in $renderings[$_].Keys) { Assert-ReadsWell $renderings[$_][$view] $view }
    }

    It 'shows a session with its symbols, kernel base and slide in hex' {
        $r = $renderings.KernelTargetSession
        $r.List | Should -Match ('KernelBase\s+: 0x{0:x16} \(_text\)' -f $textAddress)
        $r.List | Should -Match ('KaslrSlide\s+: 0x{0:x}\r?\n' -f $session.KaslrSlide)
        $r.List | Should -Match ('Symbols\s+: {0} from {1}' -f $session.Symbols.Count, [regex]::Escape($lab.SystemMap))
        $r.List | Should -Match "Breakpoints\s+: #$($breakpoint.Id) ($names), #$($watchpoint.Id) panic_timeout\r?\n"
        $r.List | Should -Match 'Traffic\s+: \d+ requests'
        $r.Table | Should -Match ('\b{0}\s+0x{1:x}\s+({2})\s*$' -f $session.Symbols.Count, $session.KaslrSlide, $names)
        $r.Default | Should -Be $r.Table
    }

    It 'shows the stops with pc in hex and as symbol+offset, and the CPU of a breakpoint stop' {
        $hit | Should -Not -BeNullOrEmpty -Because 'the workload stopped at the breakpoint'
        $hit.Reason | Should -Be 'Breakpoint'
        $hit.ProgramCounter | Should -Be $getppidAddress
        # The workload runs on CPU 1 only (taskset 0x2).
        $hit.Cpu | Should -Be 1
        if (-not $viaGdbStub) { $hit.Pid | Should -Be $workloadPid }
        $interrupt.Cpu | Should -Not -BeNullOrEmpty

        $r = $renderings.KernelStop
        $pc = '0x{0:x16}' -f $getppidAddress
        $r.Table | Should -Match "(?m)^Breakpoint\s+1\s+$(if (-not $viaGdbStub) { "$workloadPid\s+" })$pc ($names)\s*$"
        # Where the interrupt landed: in the kernel a symbol+offset (KGDB always; QEMU may stop in user space).
        $landed = if ($interrupt.Location) { ' ' + [regex]::Escape($interrupt.Location) } else { '' }
        $interrupt.Location | Should -Match $(if ($viaGdbStub) { '^$|^[\w.]+(\+0x[0-9a-f]+)?$' } else { '^[\w.]+(\+0x[0-9a-f]+)?$' })
        $r.Table | Should -Match ('(?m)^Interrupt\s+{0}\s+.*0x{1:x16}{2}\s*$' -f $interrupt.Cpu, $interrupt.ProgramCounter, $landed)
        $r.List | Should -Match "ProgramCounter\s+: $pc"
        $r.List | Should -Match "Location\s+: ($names)\r?\n"
        $r.List | Should -Match '(?m)^Cpu\s+: 1\r?$'
        $r.List | Should -Match "Breakpoint\s+: #$($breakpoint.Id) Software at ($names) \($pc\)"
        $r.List | Should -Match 'Signal\s+: 5 \(SIGTRAP\)'
        if (-not $viaGdbStub) { $r.List | Should -Match "(?m)^Pid\s+: $workloadPid\r?$" }
        else { $r.List | Should -Not -Match '(?m)^Pid\s' }
        "$hit" | Should -Match "^Breakpoint at ($names) \($pc\) on CPU 1$"
    }

    It 'shows registers in hex with the symbol they point into' {
        $r = $renderings.KernelRegister
        $rip = $objects.KernelRegister | Where-Object Name -eq 'rip'
        # Read at the breakpoint stop: rip is the breakpoint's address (KGDB's one-past is rewound).
        $rip.Value | Should -Be $getppidAddress
        $rip.Location | Should -Match "^($names)$"
        $r.Table | Should -Match ('(?m)^rip\s+0x{0:x16}\s+\S' -f $rip.Value)
        $r.Table | Should -Match '(?m)^eflags\s+0x[0-9a-f]{8}\s'
        $r.List | Should -Match ('Value\s+: 0x{0:x16}\r?\nLocation\s+: {1}' -f $rip.Value, [regex]::Escape($rip.Location))
    }

    It 'shows breakpoints at their address and symbol, watchpoints with their length' {
        $r = $renderings.KernelBreakpoint
        $panic = $panicAddress
        $r.Table | Should -Match ('(?m)^\s*{0} Software\s+0x{1:x16}\s+\d+ ' -f $breakpoint.Id, $getppidAddress)
        $r.Table | Should -Match ('(?m)^\s*{0} WriteWatch\s+0x{1:x16}\s+4\s+\d+ panic_timeout' -f $watchpoint.Id, $panic)
        $r.List | Should -Match ('Address\s+: 0x{0:x16}\r?\nLocation\s+: panic_timeout\r?\nLength\s+: 4 bytes' -f $panic)
        # A software breakpoint has no length worth showing.
        ($r.List -split '(\r?\n){2,}' | Where-Object { $_ -match 'Kind\s+: Software' }) | Should -Not -Match 'Length'
    }

    It 'shows threads with their CPU, and tasks with their pid' {
        $r = $renderings.KernelThread
        $r.Table | Should -Match '(?m)^\S+\s+0\s'
        $r.Table | Should -Match '(?m)^\S+\s+1\s'
        $r.List | Should -Match '(?m)^Cpu\s+: 0\r?$'
        if (-not $viaGdbStub) {
            $task = $objects.KernelThread | Where-Object { -not $_.IsCpu } | Select-Object -First 1
            $r.List | Should -Match ('(?m)^Id\s+: {0}\r?\nPid\s+: {1}\r?\nName\s+: {2}' -f $task.Id, $task.Pid, [regex]::Escape($task.Name))
        }
    }

    It 'shows symbols at their address, a lookup as symbol+0x' {
        $r = $renderings.KernelSymbol
        $r.Table | Should -Match ('0x{0:x16}\s+linux_banner\s' -f $bannerAddress)
        $r.Table | Should -Match ('0x{0:x16}\s+linux_banner\+0x6\s' -f ($bannerAddress + 6))
        $r.List | Should -Match ('Address\s+: 0x{0:x16}\r?\nOffset\s+: 0x6 \(0x{1:x16} is linux_banner\+0x6\)' -f $bannerAddress, ($bannerAddress + 6))
    }

    It 'shows memory as a hex dump, and as address, bytes and text in table and list' {
        $r = $renderings.KernelMemoryBlock
        $r.Default | Should -Match ('{0:x16}   4C 69 6E 75 78 20 76 65 72 73 69 6F 6E' -f $bannerAddress)
        $r.Table | Should -Match ('0x{0:x16}\s+64 linux_banner\s+4C 69 6E 75 78 20 76 65 \.\.\.' -f $bannerAddress)
        $r.List | Should -Match ('Address\s+: 0x{0:x16}\r?\nLocation\s+: linux_banner\r?\nLength\s+: 64 bytes' -f $bannerAddress)
        $r.List | Should -Match 'Text\s+: Linux version '
    }

    It 'shows where kgdboe listens and how to attach' -Skip:($Kind -ne 'Kgdb') {
        $r = $renderings.KgdboeInstallation
        $r.Default | Should -Be $r.List
        $r.List | Should -Match "Connect\s+: Connect-KernelTarget 127\.0\.0\.1 $($lab.DebugPort)"
        $r.List | Should -Match "Device\s+: eth0 [\d.]+:31337 \("
        $r.Table | Should -Match "127\.0\.0\.1:$($lab.DebugPort)\s+eth0 [\d.]+:31337\s+multi-core\s+$([regex]::Escape($lab.KernelRelease))"
    }

    It 'keeps ToString() readable: what a string or a property of another object shows' {
        foreach ($type in $objects.Keys) {
            foreach ($o in @($objects[$type])) {
                "$o" | Should -Not -MatchExactly '\b(KgdbOe|System)\.[A-Z]\w*' -Because "$type.ToString()"
                "$o" | Should -Not -Match '\b18446\d{15}\b' -Because "$type.ToString()"
            }
        }
        "$session" | Should -Match "^views \($Kind (udp|tcp):127\.0\.0\.1:\d+\)$"
    }
}
