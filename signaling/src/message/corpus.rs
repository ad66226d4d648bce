//! Real SIP messages for tests: what carriers, softphones and scanners send, and
//! the RFC 4475 torture tests that matter for parsing. Test-only.

/// An INVITE with SDP from a trunk, as a real carrier sends it.
pub const INVITE: &[u8] = b"INVITE sip:4000@kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\nMax-Forwards: 70\r\nTo: <sip:4000@kefu.example.com>\r\nFrom: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\nCall-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@192.0.2.10:5060>\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\nSupported: timer, replaces\r\nContent-Type: application/sdp\r\nContent-Length: 153\r\n\r\nv=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

/// A REGISTER with digest credentials over TCP, as baresip sends it.
pub const REGISTER: &[u8] = b"REGISTER sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.20:51234;branch=z9hG4bKnashds7\r\nMax-Forwards: 70\r\nTo: <sip:1001@kefu.example.com>\r\nFrom: <sip:1001@kefu.example.com>;tag=456248\r\nCall-ID: 843817637684230@998sdasdh09\r\nCSeq: 1826 REGISTER\r\nContact: <sip:1001@192.0.2.20:51234;transport=tcp>;expires=3600\r\nAuthorization: Digest username=\"1001\", realm=\"kefu\", nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", uri=\"sip:kefu.example.com\", response=\"dfe56131d1958046689d83306477ecc\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\"\r\nUser-Agent: baresip v1.0.0\r\nContent-Length: 0\r\n\r\n";

/// An OPTIONS probe, as scanners (sipvicious) send it.
pub const OPTIONS: &[u8] = b"OPTIONS sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.30:5061;branch=z9hG4bKhjhs8ass877\r\nMax-Forwards: 70\r\nTo: <sip:kefu.example.com>\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>;tag=6338633364\r\nCall-ID: 1171927406\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n";

/// A BYE inside the dialog of [`INVITE`].
pub const BYE: &[u8] = b"BYE sip:alice@192.0.2.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP kefu.example.com:5060;branch=z9hG4bKnashds10\r\nMax-Forwards: 70\r\nFrom: <sip:4000@kefu.example.com>;tag=a6c85cf\r\nTo: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\nCall-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 231 BYE\r\nContent-Length: 0\r\n\r\n";

/// The ACK for a non-2xx final response to [`INVITE`] (same branch).
pub const ACK: &[u8] = b"ACK sip:4000@kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\nMax-Forwards: 70\r\nTo: <sip:4000@kefu.example.com>;tag=8321234356\r\nFrom: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\nCall-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 314159 ACK\r\nContent-Length: 0\r\n\r\n";

/// A 180 Ringing for [`INVITE`].
pub const RESPONSE_180: &[u8] = b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10\r\nTo: <sip:4000@kefu.example.com>;tag=8321234356\r\nFrom: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\nCall-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 314159 INVITE\r\nContact: <sip:4000@kefu.example.com>\r\nContent-Length: 0\r\n\r\n";

/// RFC 4475 §3.1.1.1 (wsinv): whitespace, line folding, compact forms.
pub const RFC4475_WSINV: &[u8] = b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\nTO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\nfrom   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\nMaX-fOrWaRdS: 0068\r\nCall-ID: wsinv.ndaksdj@192.0.2.1\r\nContent-Length   : 150\r\ncseq: 0009\r\n  INVITE\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\ns :\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;\r\nContent-Type: application/sdp\r\nRoute:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\nv:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\nm:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n\r\nv=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n";

/// RFC 4475 §3.1.1.2 (intmeth): extension method and unusual tokens.
pub const RFC4475_INTMETH: &[u8] = b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\nVia: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\nTo: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\nFrom: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xc3\x91\xc2\x80\xc3\x90\xc2\xb0\xc3\x90\xc2\xb1\xc3\x90\xc2\xbe\xc3\x91\xc2\x82\xc3\x90\xc2\xb0\xc3\x91\xc2\x8e\xc3\x91\xc2\x89\xc3\x90\xc2\xb8\xc3\x90\xc2\xb9\";tag=_token~1'+`*%!-.\r\nCall-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\nCSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\nMax-Forwards: 255\r\nextensionHeader-!.%*+_`'~:\xc3\xaf\xc2\xbb\xc2\xbfbig-endian\r\n\r\n";

/// RFC 4475 §3.1.2.2 (clerr): Content-Length larger than the body.
pub const RFC4475_CLERR: &[u8] = b"INVITE sip:user@example.com SIP/2.0\r\nMax-Forwards: 80\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=93942939o2\r\nContact: <sip:caller@hungry.example.net>\r\nCall-ID: clerr.0ha0isndaksdjweiafasdk3\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\nContent-Type: application/sdp\r\nContent-Length: 9999\r\n\r\nv=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.155\r\ns=-\r\n";

/// RFC 4475 §3.1.2.3 (ncl): negative Content-Length.
pub const RFC4475_NCL: &[u8] = b"INVITE sip:user@example.com SIP/2.0\r\nMax-Forwards: 254\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=32394234\r\nCall-ID: ncl.0ha0isndaksdj2193423r542w35\r\nCSeq: 0 INVITE\r\nVia: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\r\nContact: <sip:caller@example53.example.net>\r\nContent-Type: application/sdp\r\nContent-Length: -999\r\n\r\nv=0\r\n";

/// RFC 4475 §3.1.2.4 (scalar02): overlarge CSeq and Max-Forwards.
pub const RFC4475_SCALAR02: &[u8] = b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\nTo: <sip:user@example.com>\r\nFrom: <sip:user@example.com>;tag=239232jh3\r\nCSeq: 36893488147419103232 REGISTER\r\nCall-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\nMax-Forwards: 300\r\nExpires: 1298717983098409809809808098098\r\nContact: <sip:user@host129.example.com>;expires=280297596632815\r\nContent-Length: 0\r\n\r\n";

/// RFC 4475 §3.1.2.6 (insuf): Call-ID, From, To missing.
pub const RFC4475_INSUF: &[u8] = b"INVITE sip:user@example.com SIP/2.0\r\nCSeq: 193942 INVITE\r\nVia: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\nContent-Type: application/sdp\r\nl: 0\r\n\r\n";

/// RFC 4475 §3.1.2.11 (mcl01): two Content-Length headers.
pub const RFC4475_MCL01: &[u8] = b"OPTIONS sip:user@example.com SIP/2.0\r\nVia: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\r\nTo: sip:user@example.com\r\nFrom: sip:other@example.net;tag=3923942\r\nCall-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\r\nCSeq: 15932 OPTIONS\r\nContent-Length: 13\r\nMax-Forwards: 60\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nThere's no way to know how many octets are supposed to be here.\r\n";

/// RFC 4475 §3.1.2.16 (unkscm): unknown Request-URI scheme.
pub const RFC4475_UNKSCM: &[u8] = b"OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\nTo: sip:user@example.com\r\nFrom: sip:caller@example.net;tag=384\r\nMax-Forwards: 3\r\nCall-ID: unkscm.nasdfasser0q239nwsdfasdkl34\r\nCSeq: 3923423 OPTIONS\r\nVia: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\nContent-Length: 0\r\n\r\n";

/// RFC 4475 §3.1.2.8 (mismatch01): CSeq method differs from the request line.
pub const RFC4475_MISMATCH01: &[u8] = b"OPTIONS sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=34525\r\nMax-Forwards: 6\r\nCall-ID: mismatch01.dj0234sxdfl3\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\nl: 0\r\n\r\n";

/// RFC 4475 §3.3.1 (inv2543): RFC 2543 request without a branch cookie.
pub const RFC4475_INV2543: &[u8] = b"INVITE sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP iftgw.example.com\r\nFrom: <sip:+13035551111@ift.client.example.net;user=phone>\r\nRecord-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\nTo: sip:+16505552222@ss1.example.net;user=phone\r\nCall-ID: inv2543.1717@ift.client.example.com\r\nCSeq: 56 INVITE\r\nContent-Length: 0\r\n\r\n";

/// A NUL byte inside the Call-ID value.
pub const NUL_IN_HEADER: &[u8] = b"OPTIONS sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.30;branch=z9hG4bKnul\r\nTo: <sip:kefu.example.com>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: nul\x00call\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

/// Every message above, for property tests and fuzz seeds.
pub const ALL: &[&[u8]] = &[
    INVITE,
    REGISTER,
    OPTIONS,
    BYE,
    ACK,
    RESPONSE_180,
    RFC4475_WSINV,
    RFC4475_INTMETH,
    RFC4475_CLERR,
    RFC4475_NCL,
    RFC4475_SCALAR02,
    RFC4475_INSUF,
    RFC4475_MCL01,
    RFC4475_UNKSCM,
    RFC4475_MISMATCH01,
    RFC4475_INV2543,
    NUL_IN_HEADER,
];

/// Parses `bytes`, which must be a request.
pub fn request(bytes: &[u8]) -> rsip::Request {
    match super::parse_message(bytes) {
        Ok(rsip::SipMessage::Request(request)) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}
