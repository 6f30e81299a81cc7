namespace KgdbOe.Protocol
{
    /// <summary>Names for the errno values KGDB sends back.</summary>
    internal static class ErrorText
    {
        public static string Describe(int code) => code switch
        {
            1 => "E01 (EPERM / refused)",
            2 => "E02 (ENOENT)",
            14 => "E14 (EFAULT: bad address)",
            16 => "E16 (EBUSY)",
            17 => "E17 (EEXIST)",
            22 => "E22 (EINVAL: invalid argument or address)",
            28 => "E28 (ENOSPC: no free slot)",
            _ => "E" + code.ToString("00", System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
