# A short soak for CI: tests/bench/Invoke-Soak.ps1 on one 6.12 lab (2 CPUs, e1000) - 300
# breakpoint hit/resume cycles through the cmdlets under network load, through the lossy proxy
# at 5 % loss, then a 10,000-datagram junk flood. One run (one lab boot) feeds every assertion.
# The long runs are `build.ps1 Soak -Cycles N -LossPercent P -Junk N`.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $package = @($env:KGDBOE_PACKAGE, (Join-Path $Root 'out/KgdbOe'), (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe')) |
        Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
    if (-not $package) { throw 'Soak: no KgdbOe package (build.ps1 Build)' }

    # kgdboe.ko for 6.12: build.ps1's, or one built here against the lab kernel tree.
    $kernelDir = @(& bash (Join-Path $Root 'tests/lab/build-kernel.sh') '6.12')[-1]
    $ko = Get-LabKernelModule -Lab ([pscustomobject]@{ Kernel = '6.12'; Kdir = (Join-Path $kernelDir 'src') })

    $Cycles = 300
    $Junk = 10000
    $soak = @{
        PackageDir = $package; KernelModule = $ko; Kernel = '6.12'; LabName = 'test-soak-6.12-e1000-2'
        Cycles = $Cycles; LossPercent = 5; Junk = $Junk; PassThru = $true
    }
    $Result = & (Join-Path $Root 'tests/bench/Invoke-Soak.ps1') @soak
}

Describe 'Soak: breakpoint cycles under load through 5 % loss' -Tag 'Lab', 'Soak' {
    It 'ran to the end without an error' {
        $Result.Error | Should -BeNullOrEmpty
        $Result.Soak.Completed | Should -Be $Cycles
    }

    It 'saw every stop, at the breakpoint, in time' {
        $Result.Soak.Hangs | Should -Be 0 -Because ($Result.Soak.Problems -join '; ')
        $Result.Soak.LostStops | Should -Be 0 -Because ($Result.Soak.Problems -join '; ')
    }

    It 'read linux_banner right at every check' {
        $Result.Soak.MemoryChecks | Should -Be 3
        $Result.Soak.WrongData | Should -Be 0 -Because ($Result.Soak.Problems -join '; ')
    }

    It 'went through a proxy that really dropped datagrams' {
        # LossyUdpProxy's closing line "up: N received, N dropped, ...; down: ...": a soak where
        # nothing was dropped proves nothing about loss.
        $Result.Soak.Proxy | Should -Match 'up: \d+ received, [1-9]\d* dropped'
        $Result.Soak.Proxy | Should -Match 'down: \d+ received, [1-9]\d* dropped'
    }
}

Describe 'Soak: junk flood' -Tag 'Lab', 'Soak' {
    It 'kept the session working after junk while stopped, while running and with no session' {
        $Result.Junk.Problems | Should -BeNullOrEmpty
        $Result.Junk.Phases.Stopped | Should -BeTrue
        $Result.Junk.Phases.Running | Should -BeTrue
        $Result.Junk.Phases.Detached | Should -BeTrue
    }

    It 'let no stranger attach' {
        $Result.Junk.StrangerAttached | Should -BeFalse
    }
}

Describe 'Soak: the guest afterwards' -Tag 'Lab', 'Soak' {
    It 'still answers over SSH' {
        $Result.GuestAlive | Should -BeTrue
    }

    It 'logged no kernel warning' {
        $Result.KernelWarnings | Should -BeNullOrEmpty
    }
}
