<#
.SYNOPSIS
Soak test of kgdboe and the cmdlets: N breakpoint hit/resume cycles under network load and
datagram loss, and/or a flood of junk datagrams at the module's port.

.DESCRIPTION
-Cycles N (N > 0): on a 2-CPU lab guest, /bin/workload calls getppid() on CPU 0 while a
host->guest TCP stream over SSH is received on CPU 1 (same NIC). With -LossPercent P > 0 the
cmdlets talk through tests/tools/LossyUdpProxy (P % loss each way, plus duplicates and reordering).
A software breakpoint on __x64_sys_getppid is hit and resumed N times with Resume-KernelTarget +
Wait-KernelTarget. Counted:
  hangs       no stop within -StopTimeoutSeconds after a resume;
  lost stops  a resume or wait that failed, or a stop that is not the breakpoint;
  wrong data  every 100 cycles linux_banner is read and compared with the guest's /proc/version.
At the end the guest must answer over SSH.

-Junk N (N > 0): N malformed datagrams (junk_udp.py) in five parts: from the attached session's
own address and port (through a relay) and from a stranger port while the kernel is stopped,
the same while it runs, and from a stranger with no session attached. After each phase the
session must still read linux_banner right; the guest must answer over SSH while running; and no
stranger may have attached.

Prints a summary; fails (a terminating error, so pwsh exits non-zero) on any hang, lost stop,
wrong data, junk failure or dead guest
(with -PassThru it returns the summary object instead and leaves the verdict to the caller).

.EXAMPLE
tests/bench/Invoke-Soak.ps1 -PackageDir out/KgdbOe -KernelModule out/module-6.12/kgdboe.ko -Cycles 10000 -LossPercent 5
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PackageDir,
    [Parameter(Mandatory)] [string] $KernelModule,
    [string] $Kernel = '6.12',
    [string] $Nic = 'e1000',
    [string] $LabName = 'bench-soak',
    [int] $Cycles = 300,
    [double] $LossPercent = 0,
    # -1: half of -LossPercent.
    [double] $DuplicatePercent = -1,
    [double] $ReorderPercent = -1,
    [long] $Junk = 0,
    [int] $JunkRate = 10000,
    [double] $StopTimeoutSeconds = 20,
    # Consecutive hangs after which the soak gives up (the target is not coming back).
    [int] $MaxConsecutiveHangs = 3,
    # Software (int3: each resume steps over it) or Hardware (a debug register: no step).
    [ValidateSet('Software', 'Hardware')] [string] $BreakpointKind = 'Software',
    [switch] $NoLoad,
    # The breakpoint soak over the keyed v2 wire (issue 13): kgdboe loaded with a new key, the
    # session connects with it. The junk flood stays a raw-mode test.
    [switch] $Keyed,
    # Where the session's packet log is kept when something went wrong.
    [string] $ResultsDir = (Join-Path $PSScriptRoot '../../results'),
    [switch] $KeepLab,
    [switch] $PassThru
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1')
Import-Module (Join-Path $PSScriptRoot 'BenchLab.psm1') -Force
Import-KgdbOePackage $PackageDir

$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "kgdboe-issue6-soak-$PID-$(Get-Random)")
$trafficLog = Join-Path $work 'soak-traffic.log'
$junkTrafficLog = Join-Path $work 'junk-traffic.log'
$ascii = [Text.Encoding]::ASCII

function Test-Banner($Session) {
    # The kernel's banner as the debugger reads it must equal what the running guest printed.
    $bytes = Read-KernelMemory -Target $Session -Address $sym.linux_banner -Length $banner.Length -AsByteArray
    $ascii.GetString($bytes) -ceq $banner
}

function Test-GuestAlive {
    (Invoke-LabSshCommand -Lab $lab -Command 'echo alive' -AllowFailure -ConnectTimeout 20) -eq 'alive'
}

function Get-ErrorId($ErrorRecord) { "$($ErrorRecord.FullyQualifiedErrorId)" }

function Invoke-BreakpointSoak {
    $result = [ordered]@{
        Cycles = $Cycles; Completed = 0; Hangs = 0; LostStops = 0; WrongData = 0; MemoryChecks = 0
        Seconds = 0; CyclesPerSecond = 0; LossPercent = $LossPercent; DuplicatePercent = $dup; ReorderPercent = $reorder
        NetworkLoad = -not $NoLoad; BreakpointKind = $BreakpointKind; Problems = [Collections.Generic.List[string]]::new(); Proxy = ''; ClientStatistics = ''
    }
    $proxy = $null; $loadProcess = $null; $session = $null
    Start-GuestWorkload -Lab $lab
    try {
        if (-not $NoLoad) { $loadProcess = Start-NetworkLoad -Lab $lab -LogPath (Join-Path $work 'load.err'); Start-Sleep -Seconds 1 }
        $port = $lab.DebugPort
        if ($LossPercent -gt 0) {
            $proxy = Start-LossyProxy -TargetPort $lab.DebugPort -LossPercent $LossPercent -DuplicatePercent $dup -ReorderPercent $reorder -DelayMs '0-2' -Seed 7
            $port = $proxy.Port
        }
        $session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $port -ConnectTimeout 60 -TrafficLogPath $trafficLog @script:KeyArgs
        if (-not (Test-Banner $session)) { throw 'soak: linux_banner differs from /proc/version before the first cycle' }
        $null = Set-KernelBreakpoint -Target $session -Address $sym.__x64_sys_getppid -Kind $BreakpointKind
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $hangsInARow = 0
        for ($i = 1; $i -le $Cycles; $i++) {
            try {
                Resume-KernelTarget -Target $session
                $stop = Wait-KernelTarget -Target $session -Timeout $StopTimeoutSeconds
                $hangsInARow = 0
                if ($stop.ProgramCounter -ne $sym.__x64_sys_getppid) {
                    $result.LostStops++
                    $result.Problems.Add("cycle ${i}: stop at 0x$($stop.ProgramCounter.ToString('x')) ($($stop.Reason)), not at the breakpoint")
                }
            } catch {
                $id = Get-ErrorId $_
                if ($id -match 'Timeout') { $result.Hangs++; $hangsInARow++ } else { $result.LostStops++ }
                $result.Problems.Add("cycle ${i}: $id $($_.Exception.Message)")
                if ($hangsInARow -ge $MaxConsecutiveHangs) { $result.Problems.Add("cycle ${i}: $hangsInARow hangs in a row, giving up"); break }
                # Get the target back under control, or give up: a dead session ends the soak.
                try { Suspend-KernelTarget -Target $session | Out-Null }
                catch { $result.Problems.Add("cycle ${i}: could not break in again: $($_.Exception.Message)"); break }
            }
            if ($i % 100 -eq 0 -or $i -eq $Cycles) {
                $result.MemoryChecks++
                try {
                    if (-not (Test-Banner $session)) { $result.WrongData++; $result.Problems.Add("cycle ${i}: linux_banner read back wrong") }
                } catch { $result.WrongData++; $result.Problems.Add("cycle ${i}: linux_banner read failed: $($_.Exception.Message)") }
            }
            if ($i % 1000 -eq 0) {
                Write-Host ("soak: {0}/{1} cycles, {2:0.0}/s, {3} hangs, {4} lost stops, {5} wrong data" -f $i, $Cycles, ($i / $watch.Elapsed.TotalSeconds), $result.Hangs, $result.LostStops, $result.WrongData)
            }
            $result.Completed = $i
        }
        $result.Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1)
        $result.CyclesPerSecond = [math]::Round($result.Completed / [math]::Max($watch.Elapsed.TotalSeconds, 0.001), 1)
        $result.ClientStatistics = $session.Client.Statistics.ToString()
        Remove-KernelBreakpoint -Target $session -All -ErrorAction Continue
    } finally {
        if ($session) { Disconnect-KernelTarget -Target $session -ErrorAction Continue }
        if ($proxy) { $result.Proxy = Stop-LossyProxy $proxy }
        Stop-OwnProcess $loadProcess
        Stop-GuestWorkload -Lab $lab
    }
    $result
}

function Start-Relay {
    $info = [Diagnostics.ProcessStartInfo]::new('python3')
    foreach ($a in (Join-Path $PSScriptRoot 'junk_udp.py'), 'relay', '--port', $lab.DebugPort, '--rate', $JunkRate) { $info.ArgumentList.Add([string]$a) }
    $info.RedirectStandardInput = $true; $info.RedirectStandardOutput = $true; $info.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($info)
    $line = $process.StandardOutput.ReadLine()
    if ($line -notmatch '^listen (\d+)') { Stop-OwnProcess $process; throw "junk: relay did not start: $line" }
    [pscustomobject]@{ Process = $process; Port = [int]$Matches[1] }
}

function Invoke-JunkPhase([string] $Name, $Relay, [long] $PeerCount, [long] $StrangerCount, [string] $State) {
    # Peer junk through the relay and stranger junk from another port, at the same time.
    $stranger = $null
    if ($StrangerCount -gt 0) {
        $stranger = Start-Process python3 -PassThru -RedirectStandardOutput (Join-Path $work "$Name.out") -RedirectStandardError (Join-Path $work "$Name.err") `
            -ArgumentList (Join-Path $PSScriptRoot 'junk_udp.py'), 'flood', '--port', $lab.DebugPort, '--count', $StrangerCount, '--rate', $JunkRate, '--seed', (Get-Random)
    }
    if ($Relay -and $PeerCount -gt 0) {
        $Relay.Process.StandardInput.WriteLine("flood $PeerCount $State")
        $Relay.Process.StandardInput.Flush()
        $answer = $Relay.Process.StandardOutput.ReadLine()
        if ($answer -notmatch '^flooded') { throw "junk ${Name}: relay answered '$answer'" }
    }
    if ($stranger) {
        $stranger.WaitForExit()
        if ($stranger.ExitCode -ne 0) { throw "junk ${Name}: stranger flood failed: $(Get-Content -Raw (Join-Path $work "$Name.err"))" }
    }
    Write-Host "junk ${Name}: $PeerCount from the peer, $StrangerCount from a stranger, kernel $State"
}

function Get-RelayStat($Relay) {
    # The relay's own count of what it forwarded each way and whether both threads still run: a
    # silent session with the relay's threads alive and datagrams going up but none coming down
    # is the stub's silence, not the relay's.
    $Relay.Process.StandardInput.WriteLine('stats')
    $Relay.Process.StandardInput.Flush()
    $Relay.Process.StandardOutput.ReadLine()
}

function Get-GuestMemFree {
    # kB, from the guest's /proc/meminfo; $null while the guest cannot answer.
    $line = Invoke-LabSshCommand -Lab $lab -Command 'grep MemFree /proc/meminfo' -AllowFailure -ConnectTimeout 20
    if ($line -match '(\d+) kB') { [long]$Matches[1] }
}

function Invoke-JunkFlood {
    $part = [long][math]::Floor($Junk / 5)
    $result = [ordered]@{
        Datagrams = $Junk; Rate = $JunkRate; Seconds = 0; Phases = [ordered]@{}; StrangerAttached = $false
        MemFreeKbBefore = $null; MemFreeKbAfter = $null; RelayAfterStopped = ''; Problems = [Collections.Generic.List[string]]::new()
    }
    $relay = Start-Relay
    $session = $null
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        # Read while the guest runs: a connected session stops it.
        $result.MemFreeKbBefore = Get-GuestMemFree
        $session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $relay.Port -ConnectTimeout 60 -TrafficLogPath $junkTrafficLog
        if (-not (Test-Banner $session)) { throw 'junk: linux_banner differs from /proc/version before the flood' }

        Invoke-JunkPhase 'stopped' $relay $part $part 'stopped'
        $result.Phases.Stopped = try { Test-Banner $session } catch { $result.Problems.Add("stopped: $($_.Exception.Message)"); $false }
        $result.RelayAfterStopped = Get-RelayStat $relay
        if (-not $result.Phases.Stopped) { $result.Problems.Add("stopped: relay $($result.RelayAfterStopped)") }

        Resume-KernelTarget -Target $session
        Invoke-JunkPhase 'running' $relay $part $part 'running'
        # Still running (SSH answers), then the session can still stop it and read right.
        $runningAlive = Test-GuestAlive
        if (-not $runningAlive) { $result.Problems.Add('running: the guest stopped answering SSH during the flood') }
        $readBack = try { $null = Suspend-KernelTarget -Target $session; Test-Banner $session } catch { $result.Problems.Add("running: $($_.Exception.Message)"); $false }
        $result.Phases.Running = $runningAlive -and $readBack
        if (-not $result.Phases.Running) { $result.Problems.Add("running: relay $(Get-RelayStat $relay)") }

        Disconnect-KernelTarget -Target $session; $session = $null
        $result.MemFreeKbAfter = Get-GuestMemFree
        $attachedBefore = Invoke-LabSshCommand -Lab $lab -Command 'dmesg | grep -c "kgdboe: peer .* attached"' -AllowFailure
        Invoke-JunkPhase 'detached' $null 0 ($Junk - 4 * $part) 'running'
        $attachedAfter = Invoke-LabSshCommand -Lab $lab -Command 'dmesg | grep -c "kgdboe: peer .* attached"' -AllowFailure
        $result.StrangerAttached = $attachedBefore -ne $attachedAfter
        if ($result.StrangerAttached) { $result.Problems.Add("detached: a stranger's junk attached a session ($attachedBefore -> $attachedAfter attach lines)") }
        $again = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.DebugPort -ConnectTimeout 60 -TrafficLogPath "$junkTrafficLog.after"
        try { $result.Phases.Detached = (Test-Banner $again) -and -not $result.StrangerAttached } finally { Disconnect-KernelTarget -Target $again }
    } finally {
        if ($session) { Disconnect-KernelTarget -Target $session -ErrorAction Continue }
        $relay.Process.StandardInput.WriteLine('quit'); $relay.Process.StandardInput.Close()
        if (-not $relay.Process.WaitForExit(5000)) { Stop-OwnProcess $relay.Process }
    }
    $result.Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1)
    $result
}

if ($Cycles -le 0 -and $Junk -le 0) { throw 'soak: nothing to do: give -Cycles N and/or -Junk N' }
if ($Keyed -and $Junk -gt 0) { throw 'soak: -Junk floods a raw module; run it without -Keyed (tests/pester/Wire.Tests.ps1 floods a keyed one)' }
$dup = if ($DuplicatePercent -lt 0) { $LossPercent / 2 } else { $DuplicatePercent }
$reorder = if ($ReorderPercent -lt 0) { $LossPercent / 2 } else { $ReorderPercent }
$lab = $null
$summary = [ordered]@{ Kernel = $Kernel; Nic = $Nic; Soak = $null; Junk = $null; GuestAlive = $false; KernelWarnings = @(); Error = $null; TrafficLog = $null; Failed = $true }
try {
    $script:KeyArgs = @{}
    $keyHex = $null
    if ($Keyed) {
        $bytes = [byte[]]::new(32)
        [Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        $keyHex = [Convert]::ToHexString($bytes).ToLowerInvariant()
        $script:KeyArgs = @{ Key = (ConvertTo-SecureString -String $keyHex -AsPlainText -Force) }
    }
    $lab = Start-BenchLab -Name $LabName -KernelModule $KernelModule -Kernel $Kernel -Nic $Nic -KeyHex $keyHex
    $summary.Kernel = $lab.KernelRelease
    $sym = Get-GuestSymbol -Lab $lab -Name __x64_sys_getppid, linux_banner
    $banner = (Invoke-LabSshCommand -Lab $lab -Command 'cat /proc/version') + "`n"
    if ($Cycles -gt 0) { $summary.Soak = Invoke-BreakpointSoak }
    if ($Junk -gt 0) { $summary.Junk = Invoke-JunkFlood }
    $summary.GuestAlive = Test-GuestAlive
    if ($summary.GuestAlive) {
        $warnings = Invoke-LabSshCommand -Lab $lab -Command 'dmesg | grep -E "BUG:|WARNING:|possible (recursive|circular)|INFO: task .* blocked|soft lockup|self-detected stall|Call Trace" | head -5' -AllowFailure
            $summary.KernelWarnings = @($warnings -split "`n" | Where-Object { $_ })
    }
} catch {
    # Reported with the rest, not thrown: the counts so far still matter.
    $summary.Error = "$($_.Exception.Message) ($($_.InvocationInfo.PositionMessage))"
} finally {
    if ($lab -and -not $KeepLab) { Stop-KgdbOeLab -Name $LabName }
}

$soakOk = -not $summary.Soak -or ($summary.Soak.Completed -eq $Cycles -and $summary.Soak.Hangs -eq 0 -and $summary.Soak.LostStops -eq 0 -and $summary.Soak.WrongData -eq 0)
$junkOk = -not $summary.Junk -or (-not $summary.Junk.Problems.Count -and @($summary.Junk.Phases.Values | Where-Object { -not $_ }).Count -eq 0 -and $summary.Junk.Phases.Count -eq 3)
$summary.Failed = [bool]$summary.Error -or -not ($soakOk -and $junkOk -and $summary.GuestAlive)
if ($summary.Failed) {
    # Keep the sessions' packet logs for the post-mortem.
    $stamp = [DateTime]::UtcNow.ToString('yyyyMMdd-HHmmss')
    $logs = Get-ChildItem $work -Filter '*traffic.log*'
    if ($logs) {
        New-Item -ItemType Directory -Force $ResultsDir | Out-Null
        $summary.TrafficLog = ($logs | ForEach-Object { $to = Join-Path $ResultsDir "soak-$stamp-$($_.Name)"; Move-Item $_.FullName $to; $to }) -join ', '
    }
}
Remove-Item -Recurse -Force -ErrorAction Ignore $work

if ($summary.Soak) {
    $s = $summary.Soak
    Write-Host ("soak: {0}/{1} cycles ({12} breakpoint) in {2} s ({3}/s), loss {4}% dup {5}% reorder {6}%, network load {7}: {8} hangs, {9} lost stops, {10} wrong data ({11} memory checks)" -f `
            $s.Completed, $s.Cycles, $s.Seconds, $s.CyclesPerSecond, $s.LossPercent, $s.DuplicatePercent, $s.ReorderPercent, $s.NetworkLoad, $s.Hangs, $s.LostStops, $s.WrongData, $s.MemoryChecks, $s.BreakpointKind)
    if ($s.Proxy) { Write-Host "soak: proxy $($s.Proxy)" }
    if ($s.ClientStatistics) { Write-Host "soak: client $($s.ClientStatistics)" }
    $s.Problems | Select-Object -First 10 | ForEach-Object { Write-Host "soak: $_" }
}
if ($summary.Junk) {
    $j = $summary.Junk
    Write-Host ("junk: {0} datagrams in {1} s; session reads right after: {2}; stranger attached: {3}" -f `
            $j.Datagrams, $j.Seconds, (($j.Phases.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ' '), $j.StrangerAttached)
    Write-Host ("junk: guest MemFree {0} kB before the session, {1} kB after it; relay after the stopped phase: {2}" -f $j.MemFreeKbBefore, $j.MemFreeKbAfter, $j.RelayAfterStopped)
    $j.Problems | ForEach-Object { Write-Host "junk: $_" }
}
$summary.KernelWarnings | ForEach-Object { Write-Host "kernel: $_" }
if ($summary.Error) { Write-Host "soak: error: $($summary.Error)" }
if ($summary.TrafficLog) { Write-Host "soak: the session's packets: $($summary.TrafficLog)" }
Write-Host "soak: guest alive: $($summary.GuestAlive); $(if ($summary.Failed) { 'FAILED' } else { 'passed' })"
if ($PassThru) { return [pscustomobject]$summary }
# A terminating error, not `exit 1`: it also fails a caller such as build.ps1 (whose own exit code
# an inner script's exit would not reach).
if ($summary.Failed) { throw 'soak: FAILED (see the summary above)' }
