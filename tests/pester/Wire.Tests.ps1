# The keyed v2 wire (issue 13, "What must be shown" 1) and its fast memory path (issue 15,
# shown 3 and 4), against the lab on 6.12 and 6.1 (e1000, 2 CPUs).
#
# A stranger floods the keyed module's port with GDB packets a raw module would obey, and replays
# a recorded keyed session, while the kernel runs and while a keyed session holds it stopped:
# the kernel never stops because of them, SSH keeps answering, the keyed session is undisturbed.
# "The kernel never stopped" is judged by what a stop would do: the attached session would get a
# stop reply (kgdb writes it to the session that is attached), and SSH would stop answering.
# Tools: tests/bench/wire_stranger.py (relay that records, replay, flood).
BeforeDiscovery {
    $Kernels = if ($env:KGDBOE_WIRE_KERNELS) { $env:KGDBOE_WIRE_KERNELS -split ',' } else { '6.12', '6.1' }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    Import-KgdbOeTestModule | Out-Null
    # No key of the user's store may leak in (or out): Connect-KernelTarget looks there by endpoint.
    $script:SavedXdg = $env:XDG_CONFIG_HOME
    $env:XDG_CONFIG_HOME = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-wire-keys-$PID"
    Add-Type -TypeDefinition @'
public static class WireTestCollect
{
    // A chunk callback that needs no runspace: the client calls it from its own threads.
    public static System.Func<ulong, byte[], System.Threading.Tasks.Task> Into(System.Collections.Generic.List<byte> list)
    {
        return (a, b) => { lock (list) list.AddRange(b); return System.Threading.Tasks.Task.CompletedTask; };
    }
}
'@
    $script:Stranger = Join-Path $PSScriptRoot '../bench/wire_stranger.py'

    function New-WireKeyHex {
        $bytes = [byte[]]::new(32)
        [Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        [Convert]::ToHexString($bytes).ToLowerInvariant()
    }

    function ConvertTo-SecureKey([string] $Hex) { ConvertTo-SecureString -String $Hex -AsPlainText -Force }

    # Loads kgdboe with a key read from stdin (never on a command line but insmod's own).
    function Install-WireKgdboe($Lab, [string] $KeyHex) {
        Invoke-LabSsh -Lab $Lab -Command 'if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi' | Out-Null
        Invoke-LabSsh -Lab $Lab -Command 'cat > /tmp/kgdboe.ko' -InputFile (Get-LabKernelModule -Lab $Lab) | Out-Null
        if ($KeyHex) {
            $keyFile = New-TemporaryFile
            try {
                Set-Content -LiteralPath $keyFile -Value $KeyHex -NoNewline:$false
                Invoke-LabSsh -Lab $Lab -Command 'IFS= read -r k && insmod /tmp/kgdboe.ko "key=$k"' -InputFile $keyFile | Out-Null
            } finally { Remove-Item -LiteralPath $keyFile -Force }
        } else {
            Invoke-LabSsh -Lab $Lab -Command 'insmod /tmp/kgdboe.ko' | Out-Null
        }
    }

    # True when the guest answers SSH within the time: a stopped kernel does not.
    function Test-GuestAnswers($Lab, [int] $Seconds = 30) {
        $out = & timeout $Seconds ssh -i $Lab.KeyPath -p $Lab.SshPort -o "UserKnownHostsFile=$($Lab.KnownHostsPath)" `
            -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=$Seconds -o LogLevel=ERROR root@127.0.0.1 'echo alive' 2>$null
        $LASTEXITCODE -eq 0 -and "$out" -eq 'alive'
    }

    function Get-Dropped($Lab) { [long](Invoke-LabSsh -Lab $Lab -Command 'cat /sys/module/kgdboe/parameters/v2_dropped') }

    function Invoke-Stranger([string[]] $Arguments) {
        $out = & python3 $script:Stranger @Arguments
        if ($LASTEXITCODE -ne 0) { throw "wire_stranger.py $Arguments exited $LASTEXITCODE" }
        "$out"
    }

    # Connects through a relay that records every client datagram; does a little work; closes.
    function Save-RecordedSession($Lab, [string] $KeyHex, [string] $File) {
        $info = [Diagnostics.ProcessStartInfo]::new('python3')
        foreach ($a in @($script:Stranger, 'relay', '--port', $Lab.DebugPort, '--record', $File)) { $info.ArgumentList.Add([string]$a) }
        $info.RedirectStandardInput = $true
        $info.RedirectStandardOutput = $true
        $info.UseShellExecute = $false
        $relay = [Diagnostics.Process]::Start($info)
        try {
            $first = $relay.StandardOutput.ReadLine()
            if ($first -notmatch '^listen (\d+)$') { throw "relay said '$first'" }
            $s = Connect-KernelTarget -ComputerName 127.0.0.1 -Port ([int]$Matches[1]) -Key (ConvertTo-SecureKey $KeyHex) -SystemMap $Lab.SystemMap -Name recorded -ConnectTimeout 60 -ErrorAction Stop
            try {
                $null = Read-KernelMemory -Target $s -Address $s.KernelBase -Length 64 -ErrorAction Stop
                $null = Get-KernelRegister -Target $s -ErrorAction Stop
                Resume-KernelTarget -Target $s -ErrorAction Stop
            } finally { Disconnect-KernelTarget -Target $s -ErrorAction SilentlyContinue }
            $relay.StandardInput.WriteLine('quit')
            $relay.StandardInput.Close()
            $last = $relay.StandardOutput.ReadLine()
            if (-not $relay.WaitForExit(30000)) { throw 'relay did not end' }
            [int]($last -replace '^recorded ', '')
        } finally {
            if (-not $relay.HasExited) { $relay.Kill() }
            $relay.Dispose()
        }
    }

    function Read-Banner($Session) {
        $address = $Session.Symbols.GetAddress('linux_banner')
        $bytes = (Read-KernelMemory -Target $Session -Address $address -Length 160 -AsByteArray -ErrorAction Stop)
        $text = [Text.Encoding]::ASCII.GetString([byte[]]$bytes)
        $text.Substring(0, $text.IndexOf([char]0)).Trim()
    }
}

AfterAll {
    Remove-Item -Recurse -Force -LiteralPath $env:XDG_CONFIG_HOME -ErrorAction Ignore
    $env:XDG_CONFIG_HOME = $script:SavedXdg
}

Describe 'Keyed v2 wire on <_>' -Tag 'Lab', 'Wire' -ForEach $Kernels {
    BeforeAll {
        $lab = Get-TestLab -Kernel $_ -Name $(if ($env:KGDBOE_WIRE_LAB) { "$($env:KGDBOE_WIRE_LAB)-$($_.Replace('.', ''))" })
        $keyHex = New-WireKeyHex
        Install-WireKgdboe $lab $keyHex
        $version = (Invoke-LabSsh -Lab $lab -Command 'cat /proc/version').Trim()
        $record = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-wire-$PID-$($lab.Kernel).rec"
    }
    AfterAll {
        Get-KernelTarget | Disconnect-KernelTarget -ErrorAction SilentlyContinue
        if (Test-GuestAnswers $lab 60) { Invoke-LabSsh -Lab $lab -Command 'rmmod kgdboe 2>/dev/null; true' | Out-Null }
        Remove-Item -LiteralPath $record -ErrorAction Ignore
    }

    It 'loads keyed: says so, and never shows the key' {
        $ready = Invoke-LabSsh -Lab $lab -Command 'dmesg | grep "kgdboe: ready" | tail -1'
        $ready | Should -Match ' wire=v2$'
        Invoke-LabSsh -Lab $lab -Command 'stat -c %a /sys/module/kgdboe/parameters/key' | Should -Be '400'
        Invoke-LabSsh -Lab $lab -Command 'cat /sys/module/kgdboe/parameters/key' | Should -Be 'set'
        # The key goes in as grep's pattern on stdin, so no command line of this check holds it.
        $keyFile = New-TemporaryFile
        try {
            Set-Content -LiteralPath $keyFile -Value $keyHex
            Invoke-LabSsh -Lab $lab -Command 'grep -lF -f - /proc/[0-9]*/cmdline 2>/dev/null | wc -l' -InputFile $keyFile | Should -Be '0'
        } finally { Remove-Item -LiteralPath $keyFile -Force }
    }

    It 'refuses a wrong key with KgdbOe.AuthenticationFailed, and the kernel keeps running' {
        $dropped = Get-Dropped $lab
        $e = Get-CommandError { Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.DebugPort -Key (ConvertTo-SecureKey (New-WireKeyHex)) -ConnectTimeout 5 }
        Get-ErrorIdOf $e | Should -Be 'KgdbOe.AuthenticationFailed'
        $e.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $e.TargetObject | Should -Be "udp:127.0.0.1:$($lab.DebugPort)"
        Test-GuestAnswers $lab | Should -BeTrue
        # Every HELLO under the wrong key was counted and dropped.
        (Get-Dropped $lab) | Should -BeGreaterThan $dropped
        Get-KernelTarget | Should -BeNullOrEmpty
    }

    It 'records a keyed session through a relay (for the replays below)' {
        $n = Save-RecordedSession $lab $keyHex $record
        $n | Should -BeGreaterThan 5
        Test-GuestAnswers $lab | Should -BeTrue
    }

    It 'replays of the recorded session with nobody attached: nothing stops, nothing attaches' {
        $dropped = Get-Dropped $lab
        $sessions = [int](Invoke-LabSsh -Lab $lab -Command 'dmesg | grep -c "v2: session" || true')
        Invoke-Stranger @('replay', '--port', $lab.DebugPort, '--file', $record, '--rounds', 3) | Should -Match '^replayed \d+'
        Test-GuestAnswers $lab | Should -BeTrue
        [int](Invoke-LabSsh -Lab $lab -Command 'dmesg | grep -c "v2: session" || true') | Should -Be $sessions
        (Get-Dropped $lab) | Should -BeGreaterThan $dropped
    }

    Context 'with a keyed session attached' {
        BeforeAll {
            # Read while the kernel runs: a stopped one answers no SSH.
            $droppedBefore = Get-Dropped $lab
            $session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.DebugPort -Key (ConvertTo-SecureKey $keyHex) -SystemMap $lab.SystemMap -Name "wire-$($lab.Kernel)" -ConnectTimeout 60 -ErrorAction Stop
        }
        AfterAll { $session | Disconnect-KernelTarget -ErrorAction SilentlyContinue }

        It 'is keyed and reads the kernel right' {
            $session.Client.IsKeyed | Should -BeTrue
            $session.State | Should -Be 'Stopped'
            Read-Banner $session | Should -Be $version
        }

        It 'fast path: 4 MiB of kernel text read fast equal the same read through m, byte for byte' {
            $c = $session.Client
            $c.UseFastMemoryPath | Should -BeTrue
            $start = $session.Symbols.GetAddress('_text')
            # 4 MiB: 'm' over the v2 stream is one request at a time (about 0.03 MiB/s on TCG).
            $length = [long]([Math]::Min(4MB, $session.Symbols.GetAddress('__end_rodata') - $start))
            $fastFile = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-wire-fast-$PID.bin"
            $slowFile = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-wire-m-$PID.bin"
            try {
                $t = [Diagnostics.Stopwatch]::StartNew()
                Export-KernelMemory -Target $session -Address $start -Length $length -Path $fastFile -ErrorAction Stop
                $fastSeconds = $t.Elapsed.TotalSeconds
                $c.UseFastMemoryPath = $false
                $t.Restart()
                Export-KernelMemory -Target $session -Address $start -Length $length -Path $slowFile -ErrorAction Stop
                $slowSeconds = $t.Elapsed.TotalSeconds
                (Get-Item $fastFile).Length | Should -Be $length
                (Get-FileHash $fastFile).Hash | Should -Be (Get-FileHash $slowFile).Hash
                Write-Host ("    {0:n0} bytes: fast {1:n1} s ({2:n2} MiB/s), m {3:n1} s ({4:n2} MiB/s)" -f $length, $fastSeconds, ($length / 1MB / $fastSeconds), $slowSeconds, ($length / 1MB / $slowSeconds))
            } finally {
                $c.UseFastMemoryPath = $true
                Remove-Item -LiteralPath $fastFile, $slowFile -ErrorAction Ignore
            }
        }

        It 'fast path: a read across an unmapped page stops there with the error id, nothing lost before it' {
            # The direct map ends with the last page of RAM (x86 maps only E820 RAM there): the page
            # after it is not mapped. page_offset_base (KASLR) + max_pfn pages.
            function Read-U64($name) {
                [BitConverter]::ToUInt64([byte[]](Read-KernelMemory -Target $session -Address $session.Symbols.GetAddress($name) -Length 8 -AsByteArray -ErrorAction Stop), 0)
            }
            $gap = (Read-U64 'page_offset_base') + (Read-U64 'max_pfn') * 4096
            $c = $session.Client
            $got = [Collections.Generic.List[byte]]::new()
            $e = $null
            try {
                $c.ReadMemoryAsync($gap - 0x2800, [long]0x5000, [WireTestCollect]::Into($got), $null, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            } catch { $e = $_.Exception }
            while ($e -and $e.GetType().Name -ne 'TargetErrorException') { $e = $e.InnerException }
            $e | Should -Not -BeNullOrEmpty
            $e.Address | Should -Be $gap
            $e.ErrorCode | Should -Be 14
            $got.Count | Should -Be 0x2800
            $c.UseFastMemoryPath = $false
            try { $viaM = Read-KernelMemory -Target $session -Address ($gap - 0x2800) -Length 0x2800 -AsByteArray -ErrorAction Stop }
            finally { $c.UseFastMemoryPath = $true }
            [Convert]::ToHexString($got.ToArray()) | Should -Be ([Convert]::ToHexString([byte[]]$viaM))
            # The cmdlets give the same error id as for 'm'.
            $err = Get-CommandError { Read-KernelMemory -Target $session -Address $gap -Length 16 }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.TargetError'
        }

        It 'while stopped: 10,000 stranger packets and 3 replays change nothing' {
            Invoke-Stranger @('flood', '--port', $lab.DebugPort, '--count', 10000) | Should -Be 'sent 10000'
            Invoke-Stranger @('replay', '--port', $lab.DebugPort, '--file', $record, '--rounds', 3) | Should -Match '^replayed \d+'
            # Undisturbed: the same session reads the same bytes, and the kernel is still stopped.
            $session.State | Should -Be 'Stopped'
            Read-Banner $session | Should -Be $version
            (Get-KernelRegister -Target $session -Name rip -ErrorAction Stop) | Should -Not -BeNullOrEmpty
            Resume-KernelTarget -Target $session -ErrorAction Stop
            Test-GuestAnswers $lab | Should -BeTrue
            # Counted: what reached the module (a stopped guest's NIC ring also overflows under the flood).
            $dropped = Get-Dropped $lab
            $dropped | Should -BeGreaterThan ($droppedBefore + 1000)
            Write-Host "    dropped while stopped: $($dropped - $droppedBefore) of 10,000 + the replays"
        }

        It 'while running: 10,000 stranger packets and 3 replays stop nothing' {
            $session.State | Should -Be 'Running'
            Invoke-Stranger @('flood', '--port', $lab.DebugPort, '--count', 10000) | Should -Be 'sent 10000'
            Invoke-Stranger @('replay', '--port', $lab.DebugPort, '--file', $record, '--rounds', 3) | Should -Match '^replayed \d+'
            Test-GuestAnswers $lab | Should -BeTrue
            # A stop would have sent this session a stop reply.
            Wait-KernelTarget -Target $session -Timeout 5 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $session.State | Should -Be 'Running'
            # Still ours: it stops the kernel and reads it.
            Suspend-KernelTarget -Target $session -ErrorAction Stop | Out-Null
            Read-Banner $session | Should -Be $version
        }
    }
}

Describe 'Raw (keyless) module ignores the fast path on <_>' -Tag 'Lab', 'Wire' -ForEach $Kernels {
    BeforeAll {
        $lab = Get-TestLab -Kernel $_ -Name $(if ($env:KGDBOE_WIRE_LAB) { "$($env:KGDBOE_WIRE_LAB)-$($_.Replace('.', ''))" })
        Install-WireKgdboe $lab $null
        $text = (Get-LabRuntimeAddress $lab '_text')
    }
    AfterAll {
        Get-KernelTarget | Disconnect-KernelTarget -ErrorAction SilentlyContinue
        if (Test-GuestAnswers $lab 60) { Invoke-LabSsh -Lab $lab -Command 'rmmod kgdboe 2>/dev/null; true' | Out-Null }
    }

    It 'running: fast-path reads get no answer and stop nothing' {
        Invoke-LabSsh -Lab $lab -Command 'dmesg | grep "kgdboe: ready" | tail -1' | Should -Match ' wire=raw$'
        Invoke-Stranger @('fastread', '--port', $lab.DebugPort, '--count', 200, '--address', ('0x{0:x}' -f $text)) | Should -Be 'sent 200 got 0'
        Test-GuestAnswers $lab | Should -BeTrue
    }

    It 'stopped by a raw session: fast-path reads get no answer and the session goes on' {
        $s = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.DebugPort -ConnectTimeout 60 -ErrorAction Stop
        try {
            $s.Client.IsKeyed | Should -BeFalse
            $s.Client.UseFastMemoryPath | Should -BeFalse
            $before = Read-KernelMemory -Target $s -Address $text -Length 64 -AsByteArray -ErrorAction Stop
            Invoke-Stranger @('fastread', '--port', $lab.DebugPort, '--count', 200, '--address', ('0x{0:x}' -f $text)) | Should -Be 'sent 200 got 0'
            $after = Read-KernelMemory -Target $s -Address $text -Length 64 -AsByteArray -ErrorAction Stop
            [Convert]::ToHexString([byte[]]$after) | Should -Be ([Convert]::ToHexString([byte[]]$before))
            Resume-KernelTarget -Target $s -ErrorAction Stop
        } finally { $s | Disconnect-KernelTarget -ErrorAction SilentlyContinue }
        Test-GuestAnswers $lab | Should -BeTrue
    }
}
