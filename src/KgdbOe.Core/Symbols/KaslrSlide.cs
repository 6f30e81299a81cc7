using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Symbols
{
    /// <summary>
    /// How far a running kernel's image moved from its link address. x86-64 KASLR moves the image by a
    /// multiple of 2 MiB within 1 GiB; linux_banner at the right slide reads "Linux version".
    /// </summary>
    public sealed class KaslrSlide
    {
        private const long Alignment = 2L << 20;
        private const long MaxSlide = 1L << 30;
        private static readonly byte[] Banner = Encoding.ASCII.GetBytes("Linux version ");

        public KaslrSlide(long slide, string method)
        {
            Slide = slide;
            Method = method;
        }

        public long Slide { get; }
        public string Method { get; }

        public override string ToString() => "0x" + Slide.ToString("x", CultureInfo.InvariantCulture) + " (" + Method + ")";

        public static async Task<KaslrSlide> DetectAsync(KernelDebugClient client, SymbolTable linkTimeSymbols, CancellationToken ct)
        {
            if (client == null) throw new ArgumentNullException(nameof(client));
            if (linkTimeSymbols == null) throw new ArgumentNullException(nameof(linkTimeSymbols));
            if (linkTimeSymbols.Slide != 0) throw new ArgumentException("Give the link-time symbols (a table without a slide).", nameof(linkTimeSymbols));
            if (!linkTimeSymbols.TryGetAddress("linux_banner", out ulong banner))
                throw new ArgumentException("The symbols have no linux_banner.", nameof(linkTimeSymbols));
            StopEvent stop = client.LastStop ?? throw new InvalidOperationException("The target must be stopped to find its slide.");

            var tried = new HashSet<long>();
            if (linkTimeSymbols.TryGetAddress("_stext", out ulong stext) && linkTimeSymbols.TryGetAddress("_etext", out ulong etext))
            {
                ulong pc = stop.ProgramCounter;
                // Slides that put pc inside the slid text, in the order of closeness to no slide.
                for (long slide = 0; slide < MaxSlide; slide += Alignment)
                {
                    if (pc < stext + (ulong)slide || pc >= etext + (ulong)slide) continue;
                    tried.Add(slide);
                    if (await BannerAtAsync(client, banner + (ulong)slide, ct).ConfigureAwait(false))
                        return new KaslrSlide(slide, string.Format(CultureInfo.InvariantCulture,
                            "stop pc 0x{0:x} lies in _stext.._etext slid by 0x{1:x}; linux_banner at 0x{2:x} reads \"Linux version\"", pc, slide, banner + (ulong)slide));
                }
            }
            // pc outside the kernel text (a module, user space under QEMU): try every aligned slide.
            for (long slide = 0; slide < MaxSlide; slide += Alignment)
            {
                if (tried.Contains(slide)) continue;
                if (await BannerAtAsync(client, banner + (ulong)slide, ct).ConfigureAwait(false))
                    return new KaslrSlide(slide, string.Format(CultureInfo.InvariantCulture,
                        "scanned 2 MiB-aligned slides: linux_banner at 0x{0:x} reads \"Linux version\" (stop pc 0x{1:x} was not in the text)", banner + (ulong)slide, stop.ProgramCounter));
            }
            throw new InvalidOperationException("No 2 MiB-aligned slide within 1 GiB puts \"Linux version\" at linux_banner: do the symbols belong to this kernel?");
        }

        private static async Task<bool> BannerAtAsync(KernelDebugClient client, ulong address, CancellationToken ct)
        {
            try
            {
                byte[] bytes = await client.ReadMemoryAsync(address, Banner.Length, null, ct).ConfigureAwait(false);
                for (int i = 0; i < Banner.Length; i++) if (bytes[i] != Banner[i]) return false;
                return true;
            }
            catch (TargetErrorException)
            {
                return false;
            }
        }
    }
}
