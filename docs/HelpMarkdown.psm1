# Reads the help pages in docs/en-US (PlatyPS's markdown schema 2.0.0, written by hand because
# PlatyPS is not available here) and reads the compiled cmdlets' metadata in a clean pwsh.
# Shared by Build-Help.ps1 (MAML generation) and tests/pester/Help.Tests.ps1.
Set-StrictMode -Version Latest

# Parameters every cmdlet has: documented once, in ### CommonParameters.
$script:CommonParameters = @(
    'Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction',
    'ErrorVariable', 'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable')

function Get-CommonParameterName { $script:CommonParameters }

function ConvertFrom-HelpMarkdown {
    <#
    .SYNOPSIS
    Parses one cmdlet page into its sections: Name, Synopsis, Syntax, Description, Examples,
    Parameters (name -> Description, Yaml), Inputs, Outputs, Notes, Links, FrontMatter.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)

    $lines = @(Get-Content -LiteralPath $Path)
    $page = [ordered]@{
        Path = $Path; FrontMatter = [ordered]@{}; Name = $null; Synopsis = ''; Description = ''
        Syntax = [ordered]@{}; Examples = [Collections.Generic.List[object]]::new()
        Parameters = [ordered]@{}; Inputs = [Collections.Generic.List[object]]::new()
        Outputs = [Collections.Generic.List[object]]::new(); Notes = ''; Links = [Collections.Generic.List[object]]::new()
        HasCommonParameters = $false
    }
    $i = 0
    if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
        for ($i = 1; $i -lt $lines.Count -and $lines[$i] -ne '---'; $i++) {
            if ($lines[$i] -match '^([^:]+):\s*(.*)$') { $page.FrontMatter[$Matches[1].Trim()] = $Matches[2].Trim() }
        }
        $i++
    }

    # Split the rest into (level, heading, body lines), keeping fenced code blocks intact.
    $blocks = [Collections.Generic.List[object]]::new()
    $current = $null
    $inFence = $false
    for (; $i -lt $lines.Count; $i++) {
        $line = $lines[$i]
        if ($line -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match '^(#{1,3}) (.+)$') {
            $current = [pscustomobject]@{ Level = $Matches[1].Length; Heading = $Matches[2].Trim(); Body = [Collections.Generic.List[string]]::new() }
            $blocks.Add($current)
        } elseif ($current) {
            $current.Body.Add($line)
        }
    }

    $section = $null
    foreach ($b in $blocks) {
        switch ($b.Level) {
            1 { $page.Name = $b.Heading }
            2 {
                $section = $b.Heading
                $text = Join-Paragraph $b.Body
                switch ($section) {
                    'SYNOPSIS' { $page.Synopsis = $text }
                    'DESCRIPTION' { $page.Description = $text }
                    'NOTES' { $page.Notes = $text }
                    'RELATED LINKS' {
                        foreach ($l in $b.Body) {
                            if ($l -match '^\s*\[([^\]]+)\]\(([^)]*)\)') { $page.Links.Add([pscustomobject]@{ Text = $Matches[1]; Uri = $Matches[2] }) }
                            elseif ($l.Trim()) { $page.Links.Add([pscustomobject]@{ Text = $l.Trim(); Uri = '' }) }
                        }
                    }
                }
            }
            3 {
                switch ($section) {
                    'SYNTAX' {
                        $setName = $b.Heading -replace '\s*\(Default\)\s*$', ''
                        $page.Syntax[$setName] = (Get-FencedCode $b.Body -First).Trim()
                    }
                    'EXAMPLES' {
                        $code = Get-FencedCode $b.Body
                        $remarks = Join-Paragraph (Remove-FencedCode $b.Body)
                        $page.Examples.Add([pscustomobject]@{ Title = $b.Heading; Code = $code.Trim(); Remarks = $remarks })
                    }
                    'PARAMETERS' {
                        if ($b.Heading -eq 'CommonParameters') { $page.HasCommonParameters = $true; continue }
                        $name = $b.Heading -replace '^-', ''
                        $yaml = [ordered]@{}
                        foreach ($y in (Get-FencedCode $b.Body -First) -split "`n") {
                            if ($y -match '^([^:]+):\s*(.*)$') { $yaml[$Matches[1].Trim()] = $Matches[2].Trim() }
                        }
                        $page.Parameters[$name] = [pscustomobject]@{ Name = $name; Description = Join-Paragraph (Remove-FencedCode $b.Body); Yaml = $yaml }
                    }
                    'INPUTS' { $page.Inputs.Add([pscustomobject]@{ Type = $b.Heading; Description = Join-Paragraph $b.Body }) }
                    'OUTPUTS' { $page.Outputs.Add([pscustomobject]@{ Type = $b.Heading; Description = Join-Paragraph $b.Body }) }
                }
            }
        }
    }
    [pscustomobject]$page
}

function Join-Paragraph([string[]] $Lines) {
    # Paragraphs separated by blank lines; lines inside a paragraph joined with a space.
    $paragraphs = [Collections.Generic.List[string]]::new()
    $buffer = [Collections.Generic.List[string]]::new()
    foreach ($l in @($Lines) + '') {
        if ($l.Trim()) { $buffer.Add($l.Trim()) }
        elseif ($buffer.Count) { $paragraphs.Add($buffer -join ' '); $buffer.Clear() }
    }
    $paragraphs -join "`n`n"
}

function Get-FencedCode([string[]] $Lines, [switch] $First) {
    $out = [Collections.Generic.List[string]]::new()
    $in = $false
    foreach ($l in $Lines) {
        if ($l -match '^```') {
            if ($in -and $First) { break }
            $in = -not $in
            continue
        }
        if ($in) { $out.Add($l) }
    }
    $out -join "`n"
}

function Remove-FencedCode([string[]] $Lines) {
    $in = $false
    foreach ($l in $Lines) {
        if ($l -match '^```') { $in = -not $in; continue }
        if (-not $in) { $l }
    }
}

function Get-PwshCommandLine {
    # A child pwsh like this one: the pwsh apphost, or `dotnet pwsh.dll` under the dotnet tool.
    $apphost = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    if (Test-Path $apphost) { return , @($apphost) }
    , @((Get-Process -Id $PID).Path, (Join-Path $PSHOME 'pwsh.dll'))
}

function Invoke-CleanPwsh {
    <#
    .SYNOPSIS
    Runs a script in a fresh pwsh (no profile, nothing imported) and returns its JSON output as objects.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Script, [string[]] $Arguments = @())
    $file = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-help-$([guid]::NewGuid().ToString('N')).ps1"
    Set-Content -LiteralPath $file -Value $Script
    try {
        $cmd = Get-PwshCommandLine
        $exe = $cmd[0]
        $pre = @($cmd | Select-Object -Skip 1)
        $output = & $exe @pre -NoProfile -NonInteractive -File $file @Arguments 2>&1
        if ($LASTEXITCODE -ne 0) { throw "child pwsh failed (exit $LASTEXITCODE): $($output -join "`n")" }
        ($output | Where-Object { $_ -is [string] }) -join "`n" | ConvertFrom-Json
    } finally {
        Remove-Item -LiteralPath $file -ErrorAction Ignore
    }
}

function Get-CompiledCmdletMetadata {
    <#
    .SYNOPSIS
    Imports the module in a clean pwsh and returns every exported cmdlet with its parameter sets
    and parameters (type, mandatory, position, pipeline input, aliases) and output types.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $ModulePath)
    $script = @'
param([string] $ModulePath)
$ErrorActionPreference = 'Stop'
$module = Import-Module $ModulePath -PassThru -Force | Select-Object -First 1
$common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
$commands = foreach ($c in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $sets = foreach ($s in $c.ParameterSets) {
        [pscustomobject]@{
            Name = $s.Name; IsDefault = $s.IsDefault
            Parameters = @(foreach ($p in $s.Parameters) {
                if ($p.Name -in [System.Management.Automation.Cmdlet]::CommonParameters) { continue }
                # int? shows as Int32, as PowerShell users know it.
                $type = [Nullable]::GetUnderlyingType($p.ParameterType)
                if (-not $type) { $type = $p.ParameterType }
                [pscustomobject]@{
                    Name = $p.Name; Type = $type.FullName; TypeName = $type.Name
                    IsSwitch = $p.ParameterType -eq [switch]; IsMandatory = $p.IsMandatory; Position = $p.Position
                    ByValue = $p.ValueFromPipeline; ByPropertyName = $p.ValueFromPipelineByPropertyName
                    Aliases = @($p.Aliases)
                }
            })
        }
    }
    [pscustomobject]@{
        Name = $c.Name; Verb = $c.Verb; Noun = $c.Noun; DefaultParameterSet = $c.DefaultParameterSet
        HelpFile = $c.HelpFile; ModuleBase = $module.ModuleBase
        ParameterNames = @($c.Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.Cmdlet]::CommonParameters } | Sort-Object)
        ParameterSets = @($sets)
        OutputTypes = @($c.OutputType | ForEach-Object { if ($_.Type) { $_.Type.FullName } else { $_.Name } } | Where-Object { $_ -and $_ -ne 'System.Void' })
    }
}
ConvertTo-Json -InputObject @($commands) -Depth 8 -Compress
'@
    @(Invoke-CleanPwsh -Script $script -Arguments @($ModulePath))
}

function Get-HelpPageProblem {
    <#
    .SYNOPSIS
    What is wrong with one cmdlet's page, compared with the compiled cmdlet: missing page, missing
    or placeholder text, undocumented or unknown parameters, parameter sets missing from SYNTAX,
    no example. Returns nothing for a good page.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Command, [Parameter(Mandatory)] [string] $DocsPath)
    $path = Join-Path $DocsPath "$($Command.Name).md"
    if (-not (Test-Path -LiteralPath $path)) { return "$($Command.Name): no page $path" }
    $page = ConvertFrom-HelpMarkdown -Path $path
    $n = $Command.Name
    if ($page.Name -ne $n) { "${n}: the page's title is '$($page.Name)'" }
    if ($page.FrontMatter['external help file'] -ne 'KgdbOe.dll-Help.xml') { "${n}: front matter lacks 'external help file: KgdbOe.dll-Help.xml'" }
    if ($page.FrontMatter['schema'] -ne '2.0.0') { "${n}: front matter lacks 'schema: 2.0.0'" }
    foreach ($section in 'Synopsis', 'Description') {
        if (-not $page.$section -or $page.$section -match '\{\{') { "${n}: ## $($section.ToUpperInvariant()) is empty or a placeholder" }
    }
    foreach ($p in $Command.ParameterNames) {
        if (-not $page.Parameters.Contains($p)) { "${n}: parameter -$p is not documented" }
        elseif (-not $page.Parameters[$p].Description -or $page.Parameters[$p].Description -match '\{\{') { "${n}: parameter -$p has no description" }
        elseif (-not $page.Parameters[$p].Yaml.Contains('Type')) { "${n}: parameter -$p has no yaml block" }
    }
    foreach ($p in $page.Parameters.Keys) {
        if ($p -notin $Command.ParameterNames) { "${n}: documents -$p, which the cmdlet does not have" }
    }
    if (-not $page.HasCommonParameters) { "${n}: ### CommonParameters is missing" }
    foreach ($set in $Command.ParameterSets) {
        $title = if ($set.Name -eq '__AllParameterSets') { 'All' } else { $set.Name }
        if (@($Command.ParameterSets).Count -gt 1 -and -not $page.Syntax.Contains($title)) { "${n}: ## SYNTAX has no ### $title block" }
    }
    if ($page.Examples.Count -eq 0) { "${n}: no example" }
    foreach ($e in $page.Examples) {
        if (-not $e.Code -or $e.Code -match '\{\{') { "${n}: $($e.Title) has no code" }
        if (-not $e.Remarks -or $e.Remarks -match '\{\{') { "${n}: $($e.Title) does not say what it does" }
    }
}

Export-ModuleMember -Function ConvertFrom-HelpMarkdown, Get-CompiledCmdletMetadata, Invoke-CleanPwsh, Get-CommonParameterName, Get-HelpPageProblem
