#!/usr/bin/env pwsh
<#
.SYNOPSIS
Builds, tests and demonstrates KgdbOe.

.DESCRIPTION
Tasks:
  Bootstrap  install missing Debian packages (as root), the dotnet tools and Pester
  Build      the C# solution, the module package in out/KgdbOe (with MAML help), kgdboe.ko per lab kernel
  Check      the fast inner loop, no VM and no root: Build (without kernels), the xunit unit tests,
             kgdboe's -Werror build against every lab kernel already cached, checkpatch --strict,
             the Help, Package and Prerequisites tests; ends with one line "N passed, N failed"
  Test       Bootstrap, the lab kernels, Check, then the lab suites (xunit and Pester against VMs);
             ends with one line "N passed, N failed, N skipped"
  Matrix     the full module suite on every lab of tests/pester/ModuleMatrix.psd1 (kernel x NIC x
             CPUs, one VM at a time; -MatrixLab 6.12:rtl8139:2,... for some), then the hardware
             breakpoint cases on 6.12, 6.1 and both unpatched; prints a table with pass/fail and
             time, writes results/matrix-<time>.json; CI runs the Sample part of it
  Lab        -LabAction Start|Stop|Status a lab VM (-Kernel, -Cpus, -Nic, -LabName)
  Demo       the tour: boot the lab, install kgdboe, debug the kernel from PowerShell
  Bench      benchmarks against stock gdb (results/ folder)
  Soak       long breakpoint soak / junk flood (-Cycles, -LossPercent, -Junk)
  Clean      remove build outputs (the kernel cache in ~/.cache/kgdboe stays)

.EXAMPLE
dotnet tool restore && dotnet pwsh ./build.ps1 Test

.EXAMPLE
dotnet pwsh ./build.ps1 Check
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Bootstrap', 'Build', 'Check', 'Test', 'Matrix', 'Lab', 'Demo', 'Bench', 'Soak', 'Clean')]
    [string] $Task = 'Build',
    [ValidateSet('Start', 'Stop', 'Status')] [string] $LabAction = 'Status',
    [string] $LabName = 'default',
    [string] $Kernel = '6.12',
    [int] $Cpus = 2,
    [string] $Nic = 'e1000',
    [string] $Tag,
    [int] $Cycles = 300,
    [double] $LossPercent = 0,
    [long] $Junk = 0,
    # Matrix: kernel:nic:cpus entries to run instead of the whole matrix.
    [string[]] $MatrixLab
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$Root = $PSScriptRoot
$OutDir = Join-Path $Root 'out'
$PackageDir = Join-Path $OutDir 'KgdbOe'
$LabKernels = '6.12', '6.1'
Import-Module (Join-Path $Root 'tests/lab/KgdbOeLab.psm1') -Force

# --- Bootstrap -------------------------------------------------------------------------------
# What the machine needs is in build/Prerequisites.psm1, each need checked by its effect.
Import-Module (Join-Path $Root 'build/Prerequisites.psm1') -Force
# kgdboe's -Werror build and checkpatch, shared with tests/pester/Module.Tests.ps1.
Import-Module (Join-Path $Root 'build/ModuleCheck.psm1') -Force

function Invoke-Bootstrap {
    Install-KgdbOePrerequisite
    Push-Location $Root
    try {
        & dotnet tool restore | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'bootstrap: dotnet tool restore failed' }
    } finally { Pop-Location }
    # Pester is checked by its effect too: it must import.
    $pester = Get-PesterModulePath
    Import-Module $pester -Force -ErrorAction Stop
    Write-Host "bootstrap: every prerequisite is there (Pester $((Get-Module Pester).Version))"
}

function Get-PesterModulePath {
    # Pester comes from NuGet (PackageDownload), not from the PowerShell Gallery.
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $psd1 = Join-Path $nugetRoot 'pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path $psd1)) {
        & dotnet restore (Join-Path $Root 'tests/tools/PesterRestore/PesterRestore.csproj') | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'Pester restore from NuGet failed' }
    }
    $psd1
}

# --- Build -----------------------------------------------------------------------------------
function Invoke-Build {
    & dotnet build (Join-Path $Root 'KgdbOe.slnx') -c Release --nologo -v q
    if ($LASTEXITCODE -ne 0) { throw 'dotnet build failed' }
    New-ModulePackage
}

function New-ModulePackage {
    # out/KgdbOe: the module folder the project build lays out (manifest with the version from
    # Directory.Build.props, KgdbOe.dll, formats, dependencies isolated in lib/), plus MAML help
    # and the kernel module's sources for building on a target.
    if (Test-Path $PackageDir) { Remove-Item -Recurse -Force $PackageDir }
    New-Item -ItemType Directory -Force $OutDir | Out-Null
    Copy-Item (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Release/netstandard2.0/KgdbOe') $PackageDir -Recurse
    $moduleSrc = Join-Path $PackageDir 'module-c'
    New-Item -ItemType Directory $moduleSrc | Out-Null
    Get-ChildItem (Join-Path $Root 'module-c') -File | Where-Object Name -Match '\.(c|h|gdb)$|^(Makefile|Kbuild)$' |
        Copy-Item -Destination $moduleSrc
    & (Join-Path $Root 'docs/Build-Help.ps1') -ModulePath $PackageDir -DocsPath (Join-Path $Root 'docs/en-US') -OutputPath (Join-Path $PackageDir 'en-US')
}

function Get-LabKernelDir([string] $Series) {
    # KGDBOE_KERNEL_DIR_6_12 / _6_1: a kernel folder already built (see KgdbOeLab.psm1).
    $override = [Environment]::GetEnvironmentVariable('KGDBOE_KERNEL_DIR_' + $Series.Replace('.', '_'))
    if ($override) { return $override }
    $dir = & bash (Join-Path $Root 'tests/lab/build-kernel.sh') $Series
    if ($LASTEXITCODE -ne 0) { throw "lab kernel $Series failed to build" }
    @($dir)[-1]
}

function Build-KernelModule([string] $Series) {
    # One build folder per kernel, so 6.1 and 6.12 objects never mix.
    $kdir = Join-Path (Get-LabKernelDir $Series) 'src'
    $buildDir = Join-Path $OutDir "module-$Series"
    if (Test-Path $buildDir) { Remove-Item -Recurse -Force $buildDir }
    New-Item -ItemType Directory -Force $buildDir | Out-Null
    Copy-Item (Join-Path $Root 'module-c/*') $buildDir -Recurse
    & make -s -C $buildDir "KDIR=$kdir" 2>&1 | Write-Host
    if ($LASTEXITCODE -ne 0) { throw "kgdboe.ko failed to build for $Series" }
    Join-Path $buildDir 'kgdboe.ko'
}

# --- Check and Test ----------------------------------------------------------------------------
# Pester files that need no VM: Check runs them, Test leaves them to Check. Check also runs the
# parts of the lab files that need no VM (every Describe not tagged Lab, e.g. "every output type
# has its views"); Test runs those files whole.
$CheckPesterFiles = 'Help.Tests.ps1', 'Package.Tests.ps1', 'Prerequisites.Tests.ps1'
$CheckPesterNoLabFiles = 'Views.Tests.ps1'

function New-SuiteResult([int] $Passed = 0, [int] $Failed = 0, [int] $Skipped = 0, [string[]] $FailedTests = @()) {
    # FailedTests: one line per failure (test name and the first line of its message), printed
    # again just above the closing line, where a reader of CI's tail sees it.
    [pscustomobject]@{ Passed = $Passed; Failed = $Failed; Skipped = $Skipped; FailedTests = @($FailedTests) }
}

function Get-FirstLine($Text) {
    # $Text: a string, or a list (e.g. a Pester test's ErrorRecord) whose first item is read.
    $Text = "$(@($Text)[0])"
    if (-not $Text) { return '' }
    $line = ($Text -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -First 1)
    if ($line.Length -gt 200) { $line = $line.Substring(0, 200) + '...' }
    $line
}

function Start-XunitSuite([string] $Project, [string] $Filter, [string] $Name) {
    # Starts one test project already built in Release, in its own process, its console output
    # in a file: the unit tests mostly wait (timeouts of the lossy-link tests), so Check runs
    # them beside the CPU-bound parts. Receive-XunitSuite waits, shows the output and counts.
    $results = Join-Path $OutDir 'test-results'
    New-Item -ItemType Directory -Force $results | Out-Null
    $trx = Join-Path $results "$Name.trx"
    $log = Join-Path $results "$Name.log"
    Remove-Item -Force -ErrorAction Ignore $trx, $log
    $arguments = @('test', "`"$(Join-Path $Root $Project)`"", '-c', 'Release', '--no-build', '--nologo',
        '--logger', "`"trx;LogFileName=$trx`"", '--logger', '"console;verbosity=normal"')
    if ($Filter) { $arguments += '--filter', "`"$Filter`"" }
    $process = Start-Process dotnet -ArgumentList $arguments -NoNewWindow -PassThru -RedirectStandardOutput $log -RedirectStandardError "$log.err"
    [pscustomobject]@{ Name = $Name; Process = $process; Trx = $trx; Log = $log }
}

function Receive-XunitSuite([Parameter(Mandatory)] $Run) {
    $Run.Process.WaitForExit()
    Get-Content -LiteralPath $Run.Log, "$($Run.Log).err" -ErrorAction Ignore | Write-Host
    if (-not (Test-Path $Run.Trx)) { return New-SuiteResult -Failed 1 -FailedTests "$($Run.Name): no results (see its output above)" }
    $trx = [xml](Get-Content -Raw $Run.Trx)
    $counters = $trx.TestRun.ResultSummary.Counters
    $failedTests = @($trx.TestRun.Results.UnitTestResult | Where-Object outcome -EQ 'Failed' |
        ForEach-Object { "$($_.testName): $(Get-FirstLine $_.Output.ErrorInfo.Message)" })
    New-SuiteResult -Passed $counters.passed -Failed ([int]$counters.failed + [int]$counters.error) -Skipped ([int]$counters.total - [int]$counters.executed) -FailedTests $failedTests
}

function Invoke-XunitSuite([string] $Project, [string] $Filter, [string] $Name) {
    Receive-XunitSuite (Start-XunitSuite -Project $Project -Filter $Filter -Name $Name)
}

function Invoke-PesterSuite([string[]] $Path, [string[]] $IncludeTag, [string[]] $ExcludeTag) {
    Import-Module (Get-PesterModulePath) -Force
    $config = New-PesterConfiguration
    $config.Run.Path = $Path
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    if ($IncludeTag) { $config.Filter.Tag = $IncludeTag }
    if ($ExcludeTag) { $config.Filter.ExcludeTag = $ExcludeTag }
    $result = Invoke-Pester -Configuration $config
    $failedTests = @(
        $result.Failed | ForEach-Object { "$($_.ExpandedPath): $(Get-FirstLine $_.ErrorRecord)" }
        $result.FailedBlocks | ForEach-Object { "$($_.ExpandedPath) (block): $(Get-FirstLine $_.ErrorRecord)" }
        $result.FailedContainers | ForEach-Object { "$($_.Item) (file): $(Get-FirstLine $_.ErrorRecord)" })
    New-SuiteResult -Passed $result.PassedCount -Failed ($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount) -Skipped $result.SkippedCount -FailedTests $failedTests
}

function Invoke-ModuleCheckSuite {
    # kgdboe against every lab kernel already built (never builds or waits for one), and
    # checkpatch from the newest cached tree (6.12 sorts after 6.1).
    $kernels = @(Get-CachedLabKernel)
    if ($kernels.Count -eq 0) {
        Write-Host 'module: no lab kernel in ~/.cache/kgdboe yet (build.ps1 Build makes them): -Werror build and checkpatch skipped'
        return New-SuiteResult -Skipped 2
    }
    $result = New-SuiteResult
    foreach ($kernel in $kernels) {
        $build = Test-KgdboeBuild -Kdir $kernel.Kdir
        if ($build.Passed) { $result.Passed++; Write-Host "module: [+] -Werror build against $($kernel.Name)" }
        else {
            $result.Failed++; $result.FailedTests += "-Werror build against $($kernel.Name): $($build.Why)"
            Write-Host "module: [-] -Werror build against $($kernel.Name): $($build.Why)`n$($build.Log)"
        }
    }
    $tree = $kernels | Sort-Object { [version]$_.Series } | Select-Object -Last 1
    $check = Test-KgdboeCheckpatch -Kdir $tree.Kdir
    if ($check.Passed) { $result.Passed++; Write-Host "module: [+] checkpatch --strict (scripts of $($tree.Name))" }
    else {
        $result.Failed++; $result.FailedTests += "checkpatch --strict: $($check.Why)"
        Write-Host "module: [-] checkpatch --strict: $($check.Why)`n$($check.Log)"
    }
    $result
}

function Invoke-CheckSuite {
    # Everything that needs neither a VM nor root, as named suites. A failed build ends it early.
    $suites = [ordered]@{}
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        Invoke-Build | Out-Host
        $suites.build = New-SuiteResult -Passed 1
    } catch {
        Write-Host "build: $_"
        $suites.build = New-SuiteResult -Failed 1 -FailedTests (Get-FirstLine "$_")
        return $suites
    }
    $times = [ordered]@{ build = $watch.Elapsed.TotalSeconds }
    $unit = Start-XunitSuite -Project 'tests/KgdbOe.Tests' -Filter 'Category!=Lab' -Name 'xunit-unit'
    $powershell = Start-XunitSuite -Project 'tests/KgdbOe.PowerShell.Tests' -Name 'xunit-powershell'
    $mark = $watch.Elapsed.TotalSeconds
    $module = Invoke-ModuleCheckSuite
    $times.module = $watch.Elapsed.TotalSeconds - $mark; $mark = $watch.Elapsed.TotalSeconds
    $env:KGDBOE_PACKAGE = $PackageDir
    $pester = Invoke-PesterSuite -Path ($CheckPesterFiles | ForEach-Object { Join-Path $Root "tests/pester/$_" })
    $noLab = Invoke-PesterSuite -Path ($CheckPesterNoLabFiles | ForEach-Object { Join-Path $Root "tests/pester/$_" }) -ExcludeTag 'Lab'
    $pester = New-SuiteResult -Passed ($pester.Passed + $noLab.Passed) -Failed ($pester.Failed + $noLab.Failed) -Skipped ($pester.Skipped + $noLab.Skipped) -FailedTests ($pester.FailedTests + $noLab.FailedTests)
    $times.pester = $watch.Elapsed.TotalSeconds - $mark; $mark = $watch.Elapsed.TotalSeconds
    $suites.'xunit-unit' = Receive-XunitSuite $unit
    $suites.'xunit-powershell' = Receive-XunitSuite $powershell
    $times.'xunit (beside module and pester; waited for after them)' = $watch.Elapsed.TotalSeconds - $mark
    $suites.module = $module
    $suites.'pester-check' = $pester
    Write-Host ('check times: ' + (($times.Keys | ForEach-Object { '{0} {1:0} s' -f $_, $times[$_] }) -join ', ') + (' ; total {0:0} s' -f $watch.Elapsed.TotalSeconds))
    $suites
}

function Write-SuiteSummary([System.Collections.IDictionary] $Suites, [switch] $WithSkipped) {
    # One line per suite, then the closing line that CI reads.
    $passed = ($Suites.Values | Measure-Object Passed -Sum).Sum
    $failed = ($Suites.Values | Measure-Object Failed -Sum).Sum
    $skipped = ($Suites.Values | Measure-Object Skipped -Sum).Sum
    foreach ($name in $Suites.Keys) {
        foreach ($test in $Suites[$name].FailedTests) { Write-Host "failed in ${name}: $test" }
    }
    foreach ($name in $Suites.Keys) {
        Write-Host ("{0}: {1} passed, {2} failed, {3} skipped" -f $name, $Suites[$name].Passed, $Suites[$name].Failed, $Suites[$name].Skipped)
    }
    if ($WithSkipped -or $skipped -gt 0) { Write-Host "$passed passed, $failed failed, $skipped skipped" }
    else { Write-Host "$passed passed, $failed failed" }
    $failed
}

function Invoke-Check {
    # Pester comes from NuGet; no apt-get, no root (Bootstrap is for a new machine).
    Get-PesterModulePath | Out-Null
    $suites = Invoke-CheckSuite
    $failed = Write-SuiteSummary $suites
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Test {
    Invoke-Bootstrap
    # The lab kernels first, so that Check's module build covers both of them.
    foreach ($series in $LabKernels) { Get-LabKernelDir $series | Out-Null }
    # The type tests compare layouts on Debian's own kernel's BTF too; in Test every BTF source
    # must be there (a missing one fails instead of skipping).
    $env:KGDBOE_STOCK_BTF = @(& bash (Join-Path $Root 'tests/lab/fetch-stock-btf.sh'))[-1]
    if ($LASTEXITCODE -ne 0) { throw 'tests/lab/fetch-stock-btf.sh failed: the type tests need Debian 6.1''s BTF' }
    $env:KGDBOE_REQUIRE_BTF = '1'
    $suites = Invoke-CheckSuite
    if ($suites.build.Failed -gt 0) { $null = Write-SuiteSummary $suites -WithSkipped; exit 1 }
    $env:KGDBOE_REQUIRE_LAB = '1'
    $env:KGDBOE_MAX_TEST_LABS = '3'
    $env:KGDBOE_PACKAGE = $PackageDir
    foreach ($series in $LabKernels) {
        [Environment]::SetEnvironmentVariable('KGDBOE_KO_' + $series.Replace('.', '_'), (Build-KernelModule $series))
    }
    try {
        # The xunit lab tests take their targets from state files: a 6.12 lab with QEMU's
        # gdbstub (also kgdboe's target) and a second VM for the two-targets test.
        $env:KGDBOE_LAB_STATE = (Start-KgdbOeLab -Name 'test-6.12-e1000-2-gdb' -Kernel 6.12 -GdbStub).StatePath
        $env:KGDBOE_LAB2_STATE = (Start-KgdbOeLab -Name 'test-xunit-second' -Kernel 6.12).StatePath
        $suites.'xunit-lab' = Invoke-XunitSuite -Project 'tests/KgdbOe.Tests' -Filter 'Category=Lab' -Name 'xunit-lab'
        Stop-KgdbOeLab -Name 'test-xunit-second'
        # Every Pester file but those Check ran; the module source checks ran in Check too.
        $labFiles = Get-ChildItem (Join-Path $Root 'tests/pester') -Filter '*.Tests.ps1' |
            Where-Object Name -NotIn $CheckPesterFiles | ForEach-Object FullName
        $suites.'pester-lab' = Invoke-PesterSuite -Path $labFiles -ExcludeTag 'ModuleCheck' -IncludeTag $(if ($Tag) { $Tag -split ',' })
    } finally {
        Get-KgdbOeLab -Name 'test-*' | Stop-KgdbOeLab
    }
    $failed = Write-SuiteSummary $suites -WithSkipped
    if ($failed -gt 0) { exit 1 }
}

# --- Matrix ----------------------------------------------------------------------------------
function Invoke-Matrix {
    # Issue 14's coverage: the full module suite on each lab of ModuleMatrix.psd1's Full list (or
    # -MatrixLab), one lab at a time, each in a Pester run of its own, the lab stopped after it.
    Invoke-Bootstrap
    Invoke-Build
    $matrix = Import-PowerShellDataFile (Join-Path $Root 'tests/pester/ModuleMatrix.psd1')
    $labs = @(if ($MatrixLab) { $MatrixLab -split ',' | ForEach-Object Trim } else { $matrix.Full })
    $env:KGDBOE_PACKAGE = $PackageDir
    foreach ($series in $labs | ForEach-Object { ($_ -split ':')[0] } | Sort-Object -Unique) {
        [Environment]::SetEnvironmentVariable('KGDBOE_KO_' + $series.Replace('.', '_'), (Build-KernelModule $series))
    }
    if (-not $env:KGDBOE_TEST_LAB_PREFIX) { $env:KGDBOE_TEST_LAB_PREFIX = 'matrix' }
    $env:KGDBOE_MAX_TEST_LABS = '1'
    $rows = [Collections.Generic.List[object]]::new()
    $total = [Diagnostics.Stopwatch]::StartNew()
    # One row: a suite on one lab, timed; the lab stopped after it.
    function Invoke-MatrixRow([string] $Kernel, [string] $Nic, [int] $Cpus, [string] $Suite, [string] $LabName, [scriptblock] $Run) {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $result = try { & $Run } catch { Write-Host "matrix: $Kernel $Nic $Cpus ($Suite): $_"; New-SuiteResult -Failed 1 }
        $watch.Stop()
        Stop-KgdbOeLab -Name $LabName
        $row = [pscustomobject]@{
            Kernel = $Kernel; Nic = $Nic; Cpus = $Cpus; Suite = $Suite
            Result = if ($result.Failed -eq 0 -and $result.Passed -gt 0) { 'pass' } else { 'FAIL' }
            Passed = $result.Passed; Failed = $result.Failed
            Time = '{0}:{1:00}' -f [int][math]::Floor($watch.Elapsed.TotalMinutes), $watch.Elapsed.Seconds
            Seconds = [math]::Round($watch.Elapsed.TotalSeconds)
        }
        Write-Host ("matrix: {0} {1} {2} CPU(s) {3}: {4} ({5} passed, {6} failed) in {7}" -f $Kernel, $Nic, $Cpus, $Suite, $row.Result, $row.Passed, $row.Failed, $row.Time)
        $row
    }
    # Without -MatrixLab, also the hardware breakpoint cases on each kernel as built for the lab and
    # as users have it (FieldCases; CI runs 6.12 and 6.12-unpatched). An unpatched kernel is built
    # once into a cache folder of its own (6.1: ~25 min cold).
    $hwKernels = if ($MatrixLab) { @() } else { @('6.12', '6.12-unpatched', '6.1', '6.1-unpatched') }
    $steps = $labs.Count + $hwKernels.Count
    try {
        for ($i = 0; $i -lt $labs.Count; $i++) {
            $kernel, $nic, $cpus = $labs[$i] -split ':'
            Write-Progress -Activity 'Matrix' -Status "$kernel $nic $cpus CPU(s)" -PercentComplete (100 * $i / $steps)
            $env:KGDBOE_MODULE_LABS = $labs[$i]
            $rows.Add((Invoke-MatrixRow $kernel $nic $cpus 'module' "$($env:KGDBOE_TEST_LAB_PREFIX)-$kernel-$nic-$cpus" {
                Invoke-PesterSuite -Path (Join-Path $Root 'tests/pester/Module.Tests.ps1') -IncludeTag 'Module' -ExcludeTag 'ModuleCheck'
            }))
        }
        $env:KGDBOE_FIELD_LAB_PREFIX = 'matrix-hw-'
        for ($i = 0; $i -lt $hwKernels.Count; $i++) {
            $kernel = $hwKernels[$i]
            Write-Progress -Activity 'Matrix' -Status "$kernel hardware breakpoints" -PercentComplete (100 * ($labs.Count + $i) / $steps)
            $env:KGDBOE_FIELD_HW_KERNELS = $kernel
            $rows.Add((Invoke-MatrixRow $kernel 'e1000' 2 'hw-breakpoints' "matrix-hw-$kernel-2" {
                Invoke-PesterSuite -Path (Join-Path $Root 'tests/pester/FieldCases.Tests.ps1') -IncludeTag 'HardwareBreakpoints'
            }))
        }
    } finally {
        Write-Progress -Activity 'Matrix' -Completed
        Remove-Item Env:KGDBOE_MODULE_LABS, Env:KGDBOE_FIELD_HW_KERNELS, Env:KGDBOE_FIELD_LAB_PREFIX -ErrorAction Ignore
    }
    $rows | Format-Table Kernel, Nic, Cpus, Suite, Result, Passed, Failed, Time -AutoSize | Out-Host
    $results = Join-Path $Root 'results'
    New-Item -ItemType Directory -Force $results | Out-Null
    $json = Join-Path $results "matrix-$([DateTime]::UtcNow.ToString('yyyyMMdd-HHmmss')).json"
    $rows | ConvertTo-Json | Set-Content $json
    $failed = @($rows | Where-Object Result -ne 'pass').Count
    Write-Host ("matrix: {0} labs, {1} passed, {2} failed, in {3:0} min; {4}" -f $rows.Count, ($rows.Count - $failed), $failed, $total.Elapsed.TotalMinutes, $json)
    if ($failed -gt 0) { exit 1 }
}

# --- Lab -------------------------------------------------------------------------------------
function Invoke-Lab {
    switch ($LabAction) {
        'Start' { Start-KgdbOeLab -Name $LabName -Kernel $Kernel -Cpus $Cpus -Nic $Nic | Format-List }
        'Stop' { Stop-KgdbOeLab -Name $LabName }
        'Status' { Get-KgdbOeLab | Format-Table Name, Kernel, Nic, Cpus, SshPort, DebugPort, GdbPort, Pid }
    }
}

function Invoke-Demo {
    Invoke-Bootstrap
    Invoke-Build
    & (Join-Path $Root 'tests/demo/Demo.ps1') -PackageDir $PackageDir -KernelModule (Build-KernelModule $Kernel) -Kernel $Kernel
    if (-not $?) { exit 1 }
}

switch ($Task) {
    'Bootstrap' { Invoke-Bootstrap }
    'Build' { Invoke-Build; foreach ($series in $LabKernels) { Build-KernelModule $series } }
    'Check' { Invoke-Check }
    'Test' { Invoke-Test }
    'Matrix' { Invoke-Matrix }
    'Lab' { Invoke-Lab }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bootstrap; Invoke-Build; & (Join-Path $Root 'tests/bench/Invoke-Benchmark.ps1') -PackageDir $PackageDir -KernelModule (Build-KernelModule $Kernel) -Kernel $Kernel }
    'Soak' { Invoke-Bootstrap; Invoke-Build; & (Join-Path $Root 'tests/bench/Invoke-Soak.ps1') -PackageDir $PackageDir -KernelModule (Build-KernelModule $Kernel) -Kernel $Kernel -Cycles $Cycles -LossPercent $LossPercent -Junk $Junk }
    'Clean' { foreach ($d in $OutDir, (Get-ChildItem -Recurse -Directory -Include bin, obj (Join-Path $Root 'src'), (Join-Path $Root 'tests'))) { Remove-Item -Recurse -Force -ErrorAction Ignore $d } }
}
