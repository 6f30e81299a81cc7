# The KgdbOe cmdlets against a real kernel booted in the lab: bytes read equal bytes the guest
# reports, a breakpoint hits because the guest ran a syscall, bad inputs fail with their error id
# and leave the session usable, and the package folder imports in a clean pwsh.
#
# Every cmdlet runs against both real stubs: kgdboe (deployed with Install-KgdboeModule and piped
# into Connect-KernelTarget, over UDP) and QEMU's gdbstub (TCP). Set KGDBOE_CMDLETS_LAB to a name
# prefix of your own while developing, so the shared test labs are not disturbed.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')

    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModuleDir = Import-KgdbOeTestModule

    function Get-FreeTcpPort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $port
    }
}

Describe 'Cmdlets without a session' -Tag 'Lab', 'Cmdlets' {
    BeforeAll {
        Get-KernelTarget | Disconnect-KernelTarget -Confirm:$false
    }

    It '<Line> fails with KgdbOe.NoSession' -ForEach @(
        @{ Line = { Suspend-KernelTarget } }
        @{ Line = { Resume-KernelTarget } }
        @{ Line = { Step-KernelTarget } }
        @{ Line = { Wait-KernelTarget -Timeout 1 } }
        @{ Line = { Disconnect-KernelTarget } }
        @{ Line = { Read-KernelMemory 0xffffffff81000000 } }
        @{ Line = { Write-KernelMemory 0xffffffff81000000 -Bytes 1 } }
        @{ Line = { Export-KernelMemory 0xffffffff81000000 16 (Join-Path $TestDrive 'x.bin') } }
        @{ Line = { Get-KernelRegister } }
        @{ Line = { Set-KernelRegister rax 1 } }
        @{ Line = { Set-KernelBreakpoint 0xffffffff81000000 } }
        @{ Line = { Get-KernelBreakpoint } }
        @{ Line = { Remove-KernelBreakpoint -All } }
        @{ Line = { Get-KernelThread } }
        @{ Line = { Get-KernelSymbol linux_banner } }
        @{ Line = { Invoke-KernelMonitorCommand help } }
    ) {
        $err = Get-CommandError $Line
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.NoSession'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        $err.Exception.Message | Should -Match 'Connect-KernelTarget'
    }

    It 'refuses a malformed endpoint with KgdbOe.BadEndpoint' {
        $err = Get-CommandError { Connect-KernelTarget -Endpoint 'udp:no-port-here' }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.BadEndpoint'
        $err.TargetObject | Should -Be 'udp:no-port-here'
    }

    It 'reports a missing System.map with KgdbOe.SymbolLoadFailed before touching the network' {
        $missing = Join-Path $TestDrive 'no-such-System.map'
        $err = Get-CommandError { Connect-KernelTarget 127.0.0.1 -Port 9 -SystemMap $missing }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.SymbolLoadFailed'
        $err.TargetObject | Should -Be $missing
    }

    It 'reports a port nobody listens on with KgdbOe.ConnectionFailed' {
        $port = Get-FreeTcpPort
        $err = Get-CommandError { Connect-KernelTarget -Endpoint "tcp:127.0.0.1:$port" -ConnectTimeout 2 }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.ConnectionFailed'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        Get-KernelTarget | Should -BeNullOrEmpty
    }
}

Describe 'Cmdlets against <Name>' -Tag 'Lab', 'Cmdlets' -ForEach @(
    @{ Name = 'kgdboe'; Kind = 'Kgdb'; Monitor = 'lsmod'; MonitorSays = '^kgdboe\s' }
    @{ Name = 'QEMU''s gdbstub'; Kind = 'QemuGdbStub'; Monitor = 'info version'; MonitorSays = '^7\.' }
) {
    BeforeAll {
        $viaGdbStub = $Kind -eq 'QemuGdbStub'
        $labArgs = @{ Kernel = '6.12'; Nic = 'e1000'; Cpus = 2; GdbStub = $viaGdbStub }
        if ($env:KGDBOE_CMDLETS_LAB) { $labArgs.Name = "$env:KGDBOE_CMDLETS_LAB-$Kind".ToLowerInvariant() }
        $lab = Get-TestLab @labArgs

        # What the guest says about itself, asked while it runs (a stopped VM answers no SSH).
        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; true' | Out-Null
        $procVersion = Invoke-LabSsh -Lab $lab -Command 'cat /proc/version'
        $bannerAddress = Get-LabRuntimeAddress $lab 'linux_banner'
        $getppidAddress = Get-LabRuntimeAddress $lab '__x64_sys_getppid'
        $getppidNames = (Invoke-LabSsh -Lab $lab -Command ('grep -i "^{0:x16} " /proc/kallsyms' -f $getppidAddress)) -split "`n" |
            ForEach-Object { ($_ -split '\s+')[2] }

        if ($viaGdbStub) {
            $session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.GdbPort -Transport Tcp -SystemMap $lab.SystemMap -Name 'cmdlets'
        } else {
            Invoke-LabSsh -Lab $lab -Command 'rmmod kgdboe 2>/dev/null; true' | Out-Null
            $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -KeyFilePath $lab.KeyPath `
                -KnownHostsPath $lab.KnownHostsPath -ModulePath (Get-LabKernelModule -Lab $lab) -DebugPort $lab.DebugPort `
                -SystemMap $lab.SystemMap -Confirm:$false -ErrorAction Stop
            # The installation carries ComputerName, Port, Transport and SystemMap to the connect.
            $session = $installation | Connect-KernelTarget -Name 'cmdlets'
        }

        function Assert-SessionUsable {
            (Read-KernelMemory linux_banner 13).ReadString() | Should -Be 'Linux version'
        }
    }

    AfterAll {
        if ($session -and -not $session.IsClosed) {
            Remove-KernelBreakpoint -All -Target $session -Confirm:$false -ErrorAction Continue
            Disconnect-KernelTarget -Target $session -Confirm:$false -ErrorAction Continue
        }
        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; rmmod kgdboe 2>/dev/null; true' | Out-Null
    }

    Context 'Session' {
        It 'connects, stops the kernel and becomes the default target' {
            $session.State | Should -Be 'Stopped'
            $session.Kind | Should -Be $Kind
            Get-KernelTarget -Default | Should -Be $session
            $session.LastStop | Should -Not -BeNullOrEmpty
        }

        It 'finds the KASLR slide: symbols sit where the guest''s kallsyms says' {
            (Get-KernelSymbol linux_banner).Address | Should -Be $bannerAddress
            (Get-KernelSymbol __x64_sys_getppid).Address | Should -Be $getppidAddress
        }

        It 'loads its dependencies outside the default load context' {
            $core = $session.Client.GetType().Assembly
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($core) |
                Should -Not -Be ([System.Runtime.Loader.AssemblyLoadContext]::Default)
        }

        It 'lists one CPU thread per CPU' {
            $threads = Get-KernelThread
            @($threads | Where-Object IsCpu).Count | Should -Be $lab.Cpus
            $threads[0].Target | Should -Be $session
        }
    }

    Context 'Memory' {
        It 'reads linux_banner: its bytes equal /proc/version' {
            $expected = [Text.Encoding]::ASCII.GetBytes($procVersion + "`n")
            $block = Read-KernelMemory linux_banner $expected.Length
            $block.Address | Should -Be $bannerAddress
            $block.Location | Should -Be 'linux_banner'
            $block.Bytes | Should -Be $expected
            $bytes = Read-KernelMemory linux_banner $expected.Length -AsByteArray
            $bytes.GetType() | Should -Be ([byte[]])
            [Linq.Enumerable]::SequenceEqual($bytes, [byte[]]$expected) | Should -BeTrue
        }

        It 'takes the address as <Kind>' -ForEach @(
            @{ Kind = 'a UInt64'; Address = { [uint64]$bannerAddress } }
            @{ Kind = 'a negative Int64 (PowerShell''s 0xffff... literal)'; Address = { [long]::Parse(('{0:x}' -f $bannerAddress), 'HexNumber') } }
            @{ Kind = '0x hex text'; Address = { '0x{0:x}' -f $bannerAddress } }
            @{ Kind = 'bare hex text'; Address = { '{0:x}' -f $bannerAddress } }
            @{ Kind = 'hex with a backtick'; Address = { $h = '{0:x16}' -f $bannerAddress; $h.Substring(0, 8) + '`' + $h.Substring(8) } }
            @{ Kind = 'a symbol'; Address = { 'linux_banner' } }
            @{ Kind = 'symbol+decimal'; Address = { 'linux_banner+0' } }
            @{ Kind = 'a symbol object from the pipeline'; Address = { Get-KernelSymbol linux_banner } }
        ) {
            (Read-KernelMemory (& $Address) 13).ReadString() | Should -Be 'Linux version'
        }

        It 'resolves symbol+0x offsets' {
            (Read-KernelMemory 'linux_banner+0x6' 7).ReadString() | Should -Be 'version'
            (Read-KernelMemory 'linux_banner+6' 7).ReadString() | Should -Be 'version'
        }

        It 'binds address and target from piped symbols' {
            $block = Get-KernelSymbol linux_banner | Read-KernelMemory -Length 5
            $block.ReadString() | Should -Be 'Linux'
            $block.Target | Should -Be $session
        }

        It 'streams a large read as blocks that add up to one read' {
            $blocks = @(Read-KernelMemory _text 10000 -BlockSize 4096)
            $blocks.Length | Should -Be 3
            ($blocks | ForEach-Object Length) | Should -Be @(4096, 4096, 1808)
            $blocks[1].Address | Should -Be ($blocks[0].Address + 4096)
            $joined = [byte[]]($blocks | ForEach-Object { $_.Bytes })
            $whole = Read-KernelMemory _text 10000 -AsByteArray
            [Linq.Enumerable]::SequenceEqual($joined, $whole) | Should -BeTrue
        }

        It 'exports 1 MiB that equals a second read' {
            $path = Join-Path $TestDrive 'text.bin'
            $file = Export-KernelMemory _text 1MB $path -PassThru
            $file.Length | Should -Be 1MB
            $again = Read-KernelMemory _text 1MB -AsByteArray
            [Linq.Enumerable]::SequenceEqual([IO.File]::ReadAllBytes($path), $again) | Should -BeTrue
        }

        It 'reports export progress, ending with a completed record' {
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                param($ModulePath, $Target, $Path)
                Import-Module $ModulePath
                Export-KernelMemory _text 256KB $Path -Target $Target
            }).AddArgument((Join-Path $ModuleDir 'KgdbOe.psd1')).AddArgument($session).AddArgument((Join-Path $TestDrive 'progress.bin'))
            try {
                $null = $ps.Invoke()
                $ps.Streams.Error | Should -BeNullOrEmpty
                $progress = @($ps.Streams.Progress)
                $progress.Count | Should -BeGreaterThan 1
                $progress[-1].RecordType | Should -Be 'Completed'
                $progress.Activity | Select-Object -Unique | Should -Match '^Export-KernelMemory'
            } finally { $ps.Dispose() }
        }

        It 'shows memory as a hex dump with the bytes still there' {
            $text = Read-KernelMemory linux_banner 32 | Out-String
            $text | Should -Match ('{0:x16}   4C 69 6E 75 78 20 76 65 72 73 69 6F 6E' -f $bannerAddress)
            $text | Should -Match 'Linux version'
        }
    }

    Context 'Writing a scratch kernel variable (panic_timeout, restored after)' {
        BeforeAll {
            $original = (Read-KernelMemory panic_timeout 4).ReadUInt32(0)
        }
        AfterAll {
            if ($session.State -ne 'Stopped') { Suspend-KernelTarget | Out-Null }
            Write-KernelMemory panic_timeout -Value $original -Size 4 -Confirm:$false
        }

        It 'writes a value that reads back, and the running kernel sees it' {
            Write-KernelMemory panic_timeout -Value 0x5a5a -Size 4 -Confirm:$false
            (Read-KernelMemory panic_timeout 4).ReadUInt32(0) | Should -Be 0x5a5a

            Resume-KernelTarget -Confirm:$false
            Invoke-LabSsh -Lab $lab -Command 'cat /proc/sys/kernel/panic' | Should -Be '23130'
            Suspend-KernelTarget | Out-Null
        }

        It 'changes nothing under -WhatIf' {
            Write-KernelMemory panic_timeout -Value 0x1234 -Size 4 -WhatIf
            (Read-KernelMemory panic_timeout 4).ReadUInt32(0) | Should -Be 0x5a5a
        }

        It 'writes back a saved block from the pipeline' {
            $saved = Read-KernelMemory panic_timeout 4
            Write-KernelMemory panic_timeout -Value 7 -Size 4 -Confirm:$false
            $saved | Write-KernelMemory -Confirm:$false
            (Read-KernelMemory panic_timeout 4).ReadUInt32(0) | Should -Be 0x5a5a
        }
    }

    Context 'Registers' {
        It 'reads the registers of the stopped CPU, rip at the stop''s pc' {
            $registers = Get-KernelRegister
            $registers.Name | Should -Contain 'rip'
            $registers.Name | Should -Contain 'rsp'
            (Get-KernelRegister rip).Value | Should -Be $session.LastStop.ProgramCounter
            (Get-KernelRegister r1?).Name | Should -Be @('r10', 'r11', 'r12', 'r13', 'r14', 'r15')
        }

        It 'reads the registers of each thread piped from Get-KernelThread' {
            $registers = Get-KernelThread | Where-Object IsCpu | Get-KernelRegister rip
            @($registers).Count | Should -Be $lab.Cpus
            $registers | ForEach-Object { $_.ThreadId | Should -Not -BeNullOrEmpty }
        }

        It 'sets a register, reads it back and restores it' {
            $before = (Get-KernelRegister rax).Value
            try {
                Set-KernelRegister rax linux_banner -Confirm:$false
                (Get-KernelRegister rax).Value | Should -Be $bannerAddress
                (Get-KernelRegister rax).Location | Should -Be 'linux_banner'
            } finally {
                Set-KernelRegister rax $before -Confirm:$false
            }
            (Get-KernelRegister rax).Value | Should -Be $before
        }
    }

    Context 'Breakpoints' {
        BeforeAll {
            # The workload runs for good in the guest; the breakpoint decides when it stops.
            Resume-KernelTarget -Confirm:$false
            Invoke-LabSsh -Lab $lab -Command 'workload 0 2000 >/dev/null 2>&1 </dev/null &' | Out-Null
            Suspend-KernelTarget | Out-Null
        }
        AfterAll {
            Remove-KernelBreakpoint -All -Confirm:$false
            if ($session.State -ne 'Running') { Resume-KernelTarget -Confirm:$false }
            Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; true' | Out-Null
            Suspend-KernelTarget | Out-Null
        }

        It 'plants nothing under -WhatIf' {
            Set-KernelBreakpoint __x64_sys_getppid -WhatIf
            Get-KernelBreakpoint | Should -BeNullOrEmpty
        }

        It 'stops at __x64_sys_getppid when /bin/workload calls getppid' {
            $breakpoint = Set-KernelBreakpoint __x64_sys_getppid -Confirm:$false
            $breakpoint.Address | Should -Be $getppidAddress
            # System.map may name the same address __do_sys_getppid too: either name is right.
            $breakpoint.Location | Should -BeIn $getppidNames

            $stop = Resume-KernelTarget -Wait -Timeout 60 -Confirm:$false
            $stop.Reason | Should -Be 'Breakpoint'
            $stop.ProgramCounter | Should -Be $getppidAddress
            $stop.Location | Should -BeIn $getppidNames
            (Get-KernelRegister rip).Value | Should -Be $getppidAddress
        }

        It 'goes through 50 hit/resume cycles' {
            $stops = 1..50 | ForEach-Object { Resume-KernelTarget -Wait -Timeout 60 -Confirm:$false }
            @($stops).Count | Should -Be 50
            $stops.ProgramCounter | Sort-Object -Unique | Should -Be $getppidAddress
            (Get-KernelBreakpoint).HitCount | Should -BeGreaterOrEqual 51
        }

        It 'steps one instruction away from the breakpoint' {
            $stop = Step-KernelTarget -Confirm:$false
            $stop.Reason | Should -Be 'Step'
            $stop.ProgramCounter | Should -BeGreaterThan $getppidAddress
            $stop.ProgramCounter - $getppidAddress | Should -BeLessThan 16 # one instruction on
            $stop.Location | Should -Match '\+0x'
        }

        It 'removes breakpoints piped from Get-KernelBreakpoint' {
            Get-KernelBreakpoint | Remove-KernelBreakpoint -Confirm:$false
            Get-KernelBreakpoint | Should -BeNullOrEmpty
        }

        # On KGDB these need the lab kernel's patches/kgdb-hw-breakpoints.patch (stock 6.1/6.12 swallow the hits).
        It 'stops at a hardware breakpoint' {
            $hardware = Set-KernelBreakpoint __x64_sys_getppid -Kind Hardware -Confirm:$false
            try {
                $stop = Resume-KernelTarget -Wait -Timeout 60 -Confirm:$false
                $stop.ProgramCounter | Should -Be $getppidAddress
                $stop.Breakpoint.Kind | Should -Be 'Hardware'
                (Get-KernelBreakpoint -Id $hardware.Id).HitCount | Should -BeGreaterOrEqual 1
            } finally {
                if ($session.State -ne 'Stopped') { Suspend-KernelTarget | Out-Null }
                $hardware | Remove-KernelBreakpoint -Confirm:$false
            }
        }

        It 'stops on a write watchpoint when the guest writes the variable' {
            $original = (Read-KernelMemory panic_timeout 4).ReadUInt32(0)
            $watch = Set-KernelBreakpoint panic_timeout -Kind WriteWatch -Length 4 -Confirm:$false
            try {
                Resume-KernelTarget -Confirm:$false
                # The write happens in the guest a moment after SSH returns, so the stop cannot block SSH.
                Invoke-LabSsh -Lab $lab -Command '(sleep 1; echo 77 > /proc/sys/kernel/panic) >/dev/null 2>&1 </dev/null &' | Out-Null
                $stop = Wait-KernelTarget -Timeout 60
                $stop.Reason | Should -Be 'Watchpoint'
                $stop.Breakpoint.Id | Should -Be $watch.Id
                # x86 data breakpoints trap after the write.
                (Read-KernelMemory panic_timeout 4).ReadUInt32(0) | Should -Be 77
            } finally {
                if ($session.State -ne 'Stopped') { Suspend-KernelTarget | Out-Null }
                $watch | Remove-KernelBreakpoint -Confirm:$false
                Write-KernelMemory panic_timeout -Value $original -Size 4 -Confirm:$false
            }
        }

        It 'ends an endless Wait-KernelTarget on Ctrl-C and stays usable' {
            Resume-KernelTarget -Confirm:$false
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                param($ModulePath, $Target)
                Import-Module $ModulePath
                Wait-KernelTarget -Target $Target
            }).AddArgument((Join-Path $ModuleDir 'KgdbOe.psd1')).AddArgument($session)
            try {
                $running = $ps.BeginInvoke()
                while ($ps.InvocationStateInfo.State -eq 'NotStarted') { Start-Sleep -Milliseconds 100 }
                Start-Sleep -Seconds 2 # let it reach the wait
                $stopping = $ps.BeginStop($null, $null)
                # A wait that ignored Ctrl-C would never end; 60 s is only a guard against hanging the suite.
                $stopping.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60)) | Should -BeTrue
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            } finally { $ps.Dispose() }
            (Suspend-KernelTarget).Reason | Should -Be 'Interrupt'
            Assert-SessionUsable
        }

        It 'refuses to read a running kernel with KgdbOe.InvalidState' {
            Resume-KernelTarget -Confirm:$false
            $err = Get-CommandError { Read-KernelMemory linux_banner 16 }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.InvalidState'
            Suspend-KernelTarget | Out-Null
            Assert-SessionUsable
        }

        It 'times out a wait with KgdbOe.Timeout and stays usable' {
            Resume-KernelTarget -Confirm:$false
            $err = Get-CommandError { Wait-KernelTarget -Timeout 2 }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.Timeout'
            $err.CategoryInfo.Category | Should -Be 'OperationTimeout'
            (Suspend-KernelTarget).Reason | Should -Be 'Interrupt'
            Assert-SessionUsable
        }
    }

    Context 'Bad input' {
        It '<Line> fails with <Id> and the session stays usable' -ForEach @(
            @{ Line = { Read-KernelMemory 'not an address!' }; Id = 'KgdbOe.BadAddress' }
            @{ Line = { Read-KernelMemory 'linux_banner+zz' }; Id = 'KgdbOe.BadAddress' }
            @{ Line = { Read-KernelMemory no_such_symbol_kgdboe }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Read-KernelMemory 0x10 16 }; Id = 'KgdbOe.TargetError' }
            @{ Line = { Read-KernelMemory 0x10 16 -AsByteArray }; Id = 'KgdbOe.TargetError' }
            @{ Line = { Write-KernelMemory 0x10 -Bytes 1 -Confirm:$false }; Id = 'KgdbOe.TargetError' }
            @{ Line = { Write-KernelMemory bogus+ -Bytes 1 -Confirm:$false }; Id = 'KgdbOe.BadAddress' }
            @{ Line = { Write-KernelMemory panic_timeout -Value 0x1ff -Size 1 -Confirm:$false }; Id = 'KgdbOe.BadArgument' }
            @{ Line = { Export-KernelMemory no_such_symbol_kgdboe 16 (Join-Path $TestDrive 'u.bin') }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Export-KernelMemory linux_banner 16 '/no/such/folder/x.bin' }; Id = 'KgdbOe.FileError' }
            @{ Line = { Export-KernelMemory 0x10 4096 (Join-Path $TestDrive 'bad.bin') }; Id = 'KgdbOe.TargetError' }
            @{ Line = { Get-KernelRegister no_such_register }; Id = 'KgdbOe.UnknownRegister' }
            @{ Line = { Set-KernelRegister no_such_register 1 -Confirm:$false }; Id = 'KgdbOe.UnknownRegister' }
            @{ Line = { Set-KernelRegister rax no_such_symbol_kgdboe -Confirm:$false }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Set-KernelBreakpoint no_such_symbol_kgdboe -Confirm:$false }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Set-KernelBreakpoint '0xzz' -Confirm:$false }; Id = 'KgdbOe.BadAddress' }
            @{ Line = { Get-KernelBreakpoint -Id 4242 }; Id = 'KgdbOe.BreakpointNotFound' }
            @{ Line = { Remove-KernelBreakpoint -Id 4242 -Confirm:$false }; Id = 'KgdbOe.BreakpointNotFound' }
            @{ Line = { Get-KernelSymbol no_such_symbol_kgdboe }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Get-KernelSymbol -Address 0x10 }; Id = 'KgdbOe.UnknownSymbol' }
            @{ Line = { Resume-KernelTarget -Wait -Timeout 2 -Confirm:$false }; Id = 'KgdbOe.Timeout' }
            @{ Line = { Connect-KernelTarget 127.0.0.1 -Port 9 -SystemMap $lab.SystemMap -Kallsyms 'x' }; Id = 'KgdbOe.BadArgument' }
        ) {
            $err = Get-CommandError $Line
            Get-ErrorIdOf $err | Should -Be $Id
            $err.Exception.Message | Should -Not -BeNullOrEmpty
            if ($session.State -ne 'Stopped') { Suspend-KernelTarget | Out-Null }
            Assert-SessionUsable
        }

        It 'leaves no partial file when an export fails' {
            $path = Join-Path $TestDrive 'partial.bin'
            $null = Get-CommandError { Export-KernelMemory 0x10 4096 $path }
            Test-Path $path | Should -BeFalse
        }

        It 'names the failing address in a target error' {
            $err = Get-CommandError { Read-KernelMemory 0x10 16 }
            $err.CategoryInfo.Category | Should -Be 'ReadError'
            $err.TargetObject | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Interactive use' {
        It 'tab-completes symbol names from the connected target' {
            $result = TabExpansion2 -inputScript 'Read-KernelMemory linux_ban' -cursorColumn 27
            $result.CompletionMatches.CompletionText | Should -Contain 'linux_banner'
        }

        It 'tab-completes register names' {
            $result = TabExpansion2 -inputScript 'Get-KernelRegister ri' -cursorColumn 21
            $result.CompletionMatches.CompletionText | Should -Be @('rip')
        }

        It 'runs a monitor command' {
            (Invoke-KernelMonitorCommand $Monitor) -join "`n" | Should -Match "(?m)$MonitorSays"
        }

        It 'shows stops with the pc as symbol+offset' {
            $text = $session.LastStop | Out-String
            $text | Should -Match 'Reason'
            $text | Should -Match '0x[0-9a-f]{16}'
        }
    }

    Context 'Disconnecting' {
        It 'keeps the session under -WhatIf' {
            Disconnect-KernelTarget -WhatIf
            $session.IsClosed | Should -BeFalse
        }

        It 'detaches, lets the kernel run and closes the session' {
            Disconnect-KernelTarget -Confirm:$false
            $session.IsClosed | Should -BeTrue
            Get-KernelTarget | Should -BeNullOrEmpty
            Invoke-LabSsh -Lab $lab -Command 'echo alive' | Should -Be 'alive'
        }

        It 'refuses a closed session with KgdbOe.SessionClosed' {
            $err = Get-CommandError { Read-KernelMemory linux_banner -Target $session }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.SessionClosed'
        }
    }
}

Describe 'The package folder' -Tag 'Lab', 'Cmdlets' {
    BeforeAll {
        # Runs a script in a clean pwsh (the repository's tool manifest provides it) and returns its JSON output.
        function Invoke-CleanPwsh([string] $Script) {
            Push-Location $repoRoot
            try { $out = & dotnet pwsh -NoProfile -NonInteractive -Command $Script 2>&1 }
            finally { Pop-Location }
            $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
            ($out -join "`n") | ConvertFrom-Json
        }
        $env:KGDBOE_TEST_MODULE_DIR = $ModuleDir
    }
    AfterAll { Remove-Item Env:KGDBOE_TEST_MODULE_DIR -ErrorAction Ignore }

    It 'imports in a clean pwsh and keeps KgdbOe.Core in its own load context' {
        $result = Invoke-CleanPwsh @'
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:KGDBOE_TEST_MODULE_DIR 'KgdbOe.psd1')
$null = Connect-KernelTarget -Endpoint 'tcp:127.0.0.1:1' -ConnectTimeout 1 -ErrorAction SilentlyContinue
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'KgdbOe.Core' }
[pscustomobject]@{
    Cmdlets = @(Get-Command -Module KgdbOe).Count
    Version = "$((Get-Module KgdbOe).Version)"
    CoreIsolated = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($core) -ne [System.Runtime.Loader.AssemblyLoadContext]::Default
} | ConvertTo-Json
'@
        $result.Cmdlets | Should -Be (Import-PowerShellDataFile (Join-Path $ModuleDir 'KgdbOe.psd1')).CmdletsToExport.Count
        $result.Version | Should -Not -Be '0.0.0'
        $result.CoreIsolated | Should -BeTrue
    }

    It 'uses its own SSH.NET when another module loaded an older one first' {
        # Stand-in for another module's SSH.NET: same name and public key, older version.
        $ours = [Reflection.AssemblyName]::GetAssemblyName((Join-Path $ModuleDir 'lib/Renci.SshNet.dll'))
        $project = Join-Path $TestDrive 'other-sshnet'
        New-Item -ItemType Directory $project | Out-Null
        [IO.File]::WriteAllBytes((Join-Path $project 'key.snk'), $ours.GetPublicKey())
        Set-Content (Join-Path $project 'Other.cs') 'namespace Renci.SshNet { public class SshClient { } }'
        Set-Content (Join-Path $project 'Renci.SshNet.csproj') @'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>netstandard2.0</TargetFramework>
    <AssemblyName>Renci.SshNet</AssemblyName>
    <AssemblyVersion>2020.0.2.0</AssemblyVersion>
    <SignAssembly>true</SignAssembly>
    <PublicSign>true</PublicSign>
    <AssemblyOriginatorKeyFile>key.snk</AssemblyOriginatorKeyFile>
  </PropertyGroup>
</Project>
'@
        $build = & dotnet build $project -c Release -o (Join-Path $project 'out') 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($build -join "`n")
        $env:KGDBOE_TEST_OTHER_SSHNET = Join-Path $project 'out/Renci.SshNet.dll'
        try {
            $result = Invoke-CleanPwsh @'
$ErrorActionPreference = 'Stop'
Add-Type -Path $env:KGDBOE_TEST_OTHER_SSHNET
Import-Module (Join-Path $env:KGDBOE_TEST_MODULE_DIR 'KgdbOe.psd1')
# Resolve SSH.NET exactly as KgdbOe.dll references it.
$reference = (Get-Module KgdbOe).ImplementingAssembly.GetReferencedAssemblies() | Where-Object Name -eq 'Renci.SshNet'
$resolved = [Reflection.Assembly]::Load($reference)
$all = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Renci.SshNet' }
[pscustomobject]@{
    Resolved = $resolved.GetName().Version.ToString()
    Isolated = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($resolved) -ne [System.Runtime.Loader.AssemblyLoadContext]::Default
    Loaded = @($all | ForEach-Object { $_.GetName().Version.ToString() } | Sort-Object)
} | ConvertTo-Json
'@
        } finally { Remove-Item Env:KGDBOE_TEST_OTHER_SSHNET }
        $result.Resolved | Should -Be $ours.Version.ToString()
        $result.Isolated | Should -BeTrue
        $result.Loaded | Should -Be @('2020.0.2.0', $ours.Version.ToString())
    }
}
