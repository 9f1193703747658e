#!/usr/bin/env bash
# 强基通离线安装与升级（不需要联网）：在解开的安装包目录中以 root 运行 ./install.sh
#
#   首次安装：建系统账号 qiangji，程序装到 /opt/qiangji/releases/<版本>（current 指向它），
#             生成 /etc/qiangji/qiangji.env（随机 SECRET_KEY，权限 600），建表，载入内置标准，
#             安装并启动 qiangji-web、qiangji-scheduler 两个 systemd 服务。
#   升级：    已有安装时先备份（flask backup create），再装新版本、迁移、切换、重启；
#             迁移失败时打印回退步骤，退出码 1。
#
# 可用环境变量改路径（测试在临时目录里安装）：PREFIX（/opt/qiangji）、ETC_DIR（/etc/qiangji）、
# DATA_DIR（/var/lib/qiangji）、SYSTEMD_DIR（/etc/systemd/system）、PYTHON（python3.11）、
# SERVICE_USER（qiangji）。--no-system：不建系统账号、不改属主、不装 systemd 服务（测试、容器）。
set -euo pipefail

BUNDLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-/opt/qiangji}"
ETC_DIR="${ETC_DIR:-/etc/qiangji}"
DATA_DIR="${DATA_DIR:-/var/lib/qiangji}"
SYSTEMD_DIR="${SYSTEMD_DIR:-/etc/systemd/system}"
PYTHON="${PYTHON:-python3.11}"
SERVICE_USER="${SERVICE_USER:-qiangji}"
ENV_FILE="$ETC_DIR/qiangji.env"
NO_SYSTEM=0
# Nothing from this machine's pip settings: the wheelhouse in the bundle is the only source.
for var in $(compgen -e | grep '^PIP_' || true); do unset "$var"; done
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '%s\n' "$*"; }
die() { printf '错误：%s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
    case "$arg" in
        --no-system) NO_SYSTEM=1 ;;
        -h | --help)
            sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "不认识的参数“$arg”（可用：--no-system）" ;;
    esac
done

# ---------------------------------------------------------------- the bundle and Python
[ -f "$BUNDLE_DIR/BUNDLE_INFO" ] || die "找不到 $BUNDLE_DIR/BUNDLE_INFO：请在解开的安装包目录中运行 install.sh。"
bundle_info() { sed -n "s/^$1=//p" "$BUNDLE_DIR/BUNDLE_INFO" | head -n 1; }
VERSION="$(bundle_info VERSION)"
BUNDLE_TAG="$(bundle_info PYTHON_TAG)"
BUNDLE_PY="$(bundle_info PYTHON_VERSION)"
PIP_WHEEL="$BUNDLE_DIR/wheelhouse/$(bundle_info PIP_WHEEL)"
[ -n "$VERSION" ] && [ -n "$BUNDLE_TAG" ] && [ -f "$PIP_WHEEL" ] || die "安装包信息 BUNDLE_INFO 不完整，安装包可能已损坏，请重新拷贝。"

command -v "$PYTHON" >/dev/null 2>&1 ||
    die "找不到 $PYTHON：本安装包需要 Python $BUNDLE_PY（麒麟/统信/openEuler 可安装系统自带的 python3.11 软件包），或用 PYTHON=/路径/python3.11 指定。"
HOST_TAG="$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
if [ "$HOST_TAG" != "$BUNDLE_TAG" ]; then
    HOST_PY="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    die "本安装包是为 Python $BUNDLE_PY（$BUNDLE_TAG）打的，而 $PYTHON 是 Python $HOST_PY（$HOST_TAG）：请使用 Python $BUNDLE_PY，或取对应版本的安装包。未做任何改动。"
fi
case "$(uname -m)" in
    x86_64) ;;
    *) die "本安装包只适用于 x86_64 服务器，本机是 $(uname -m)。未做任何改动。" ;;
esac

if [ "$NO_SYSTEM" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "请以 root 运行（sudo ./install.sh）。"
fi

# ---------------------------------------------------------------- helpers
RELEASE="$PREFIX/releases/$VERSION"
CURRENT="$PREFIX/current"
UPGRADE=0
OLD_RELEASE=""
if [ -L "$CURRENT" ]; then
    UPGRADE=1
    OLD_RELEASE="$(readlink -f "$CURRENT")"
    [ -f "$ENV_FILE" ] || die "已安装于 $PREFIX，但找不到配置文件 $ENV_FILE：没有它就不知道数据库和上传目录在哪里，升级不能继续。请从备份恢复该文件（或按 deploy/qiangji.env.example 重写）后再运行。未做任何改动。"
elif [ -e "$CURRENT" ]; then
    die "$CURRENT 存在但不是符号链接：请检查 $PREFIX。未做任何改动。"
fi

have_systemd() { [ "$NO_SYSTEM" = 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Run a command as the service account with the installation's environment.
as_service() {
    if [ "$NO_SYSTEM" = 1 ] || [ "$(id -u)" != 0 ]; then
        (set -a && . "$ENV_FILE" && set +a && cd "$CURRENT_DIR" && "$@")
    else
        (set -a && . "$ENV_FILE" && set +a && cd "$CURRENT_DIR" && runuser -u "$SERVICE_USER" -- "$@")
    fi
}
build_static() { # the release's static files under hashed names with .gz beside them, for nginx
    # (deploy/nginx-static.conf); as root: the release directory is root's, the service only reads it
    local dir="$1"
    if [ ! -f "$dir/app/assets.py" ]; then
        say "（该版本的程序自己发出静态文件，不生成 static-build。）"
        return 0
    fi
    (set -a && . "$ENV_FILE" && set +a && cd "$dir" && "$dir/venv/bin/flask" --app wsgi assets build "$dir/static-build" --clean) >/dev/null
}
flask_in() { # flask_in RELEASE_DIR args… : that release's flask, as the service account
    local dir="$1"
    shift
    CURRENT_DIR="$dir" as_service "$dir/venv/bin/flask" --app wsgi "$@"
}

build_release() { # copy the app and build its venv from the wheelhouse, offline (in place:
    # a venv's scripts name its path, it cannot be moved afterwards)
    local dir="$1"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -a "$BUNDLE_DIR/app" "$BUNDLE_DIR/migrations" "$BUNDLE_DIR/deploy" "$dir/"
    cp -a "$BUNDLE_DIR/wsgi.py" "$BUNDLE_DIR/config.py" "$BUNDLE_DIR/requirements.txt" \
        "$BUNDLE_DIR/requirements.lock" "$BUNDLE_DIR/BUNDLE_INFO" "$dir/"
    # the nginx files name this installation's paths (the examples say /opt/qiangji)
    sed -i "s#/opt/qiangji#$PREFIX#g" "$dir/deploy/nginx-qiangji.conf" "$dir/deploy/nginx-static.conf"
    say "建立 Python 环境（离线，来自安装包中的 wheelhouse）……"
    # --without-pip: no ensurepip needed (Debian-based systems ship it separately); pip
    # itself comes from the bundle's wheel, hash-checked with the rest.
    if ! "$PYTHON" -m venv --without-pip "$dir/venv" || ! "$dir/venv/bin/python" "$PIP_WHEEL/pip" install --quiet --no-index \
        --find-links "$BUNDLE_DIR/wheelhouse" --require-hashes --requirement "$BUNDLE_DIR/requirements.lock"; then
        rm -rf "$dir"
        die "安装依赖失败（wheelhouse 不完整或校验值不符）：安装包可能已损坏，请重新拷贝。正在使用的程序和数据没有改动。"
    fi
}

install_wrapper() { # $PREFIX/bin/qiangji: `sudo qiangji check|backup …|users create-admin …`
    mkdir -p "$PREFIX/bin"
    cat >"$PREFIX/bin/qiangji" <<EOF
#!/usr/bin/env bash
# 以服务账号、用 $ENV_FILE 的配置运行 flask --app wsgi 的命令，例如：
#   sudo $PREFIX/bin/qiangji check
#   sudo $PREFIX/bin/qiangji backup create $DATA_DIR/backups/手动-\$(date +%Y%m%d).tar.gz
set -euo pipefail
[ -f "$ENV_FILE" ] || { echo "错误：找不到配置文件 $ENV_FILE（安装时生成，见 deploy/qiangji.env.example）。" >&2; exit 1; }
[ -r "$ENV_FILE" ] || { echo "错误：无权读取 $ENV_FILE：请用 sudo 运行。" >&2; exit 1; }
set -a; . "$ENV_FILE"; set +a
cd "$CURRENT"
if [ "\$(id -u)" = 0 ] && [ "$NO_SYSTEM" = 0 ]; then
    exec runuser -u "$SERVICE_USER" -- "$CURRENT/venv/bin/flask" --app wsgi "\$@"
fi
exec "$CURRENT/venv/bin/flask" --app wsgi "\$@"
EOF
    chmod 755 "$PREFIX/bin/qiangji"
}

install_units() {
    if [ "$NO_SYSTEM" = 1 ]; then
        say "注意：--no-system，未安装服务。请用 $PREFIX/bin/qiangji scheduler 和"
        say "      $CURRENT/venv/bin/gunicorn --config $CURRENT/deploy/gunicorn.conf.py wsgi:app 自行启动（须带 $ENV_FILE 的环境变量）。"
        return 0
    fi
    local unit
    mkdir -p "$SYSTEMD_DIR"
    for unit in qiangji-web.service qiangji-scheduler.service; do
        sed -e "s#/opt/qiangji#$PREFIX#g" -e "s#/etc/qiangji#$ETC_DIR#g" \
            -e "s#^User=qiangji#User=$SERVICE_USER#" -e "s#^Group=qiangji#Group=$SERVICE_USER#" \
            "$CURRENT/deploy/$unit" >"$SYSTEMD_DIR/$unit"
        chmod 644 "$SYSTEMD_DIR/$unit"
    done
    if have_systemd; then
        systemctl daemon-reload
    else
        say "注意：本机没有运行 systemd（容器内），服务文件已写入 $SYSTEMD_DIR，但未启动。可用 $PREFIX/bin/qiangji scheduler 和"
        say "      runuser -u $SERVICE_USER -- $CURRENT/venv/bin/gunicorn --config $CURRENT/deploy/gunicorn.conf.py wsgi:app 自行启动（须带 $ENV_FILE 的环境变量）。"
    fi
}

restart_services() {
    if have_systemd; then
        systemctl enable --quiet qiangji-web.service qiangji-scheduler.service
        systemctl restart qiangji-scheduler.service qiangji-web.service
        say "已启动 qiangji-web、qiangji-scheduler（systemctl status qiangji-web qiangji-scheduler；日志 journalctl -u qiangji-web -u qiangji-scheduler）。"
    fi
}

check_release() { # the release's own `check` (a release older than the command: skipped)
    if ! flask_in "$1" check --help >/dev/null 2>&1; then
        say "注意：版本 $(basename "$1") 没有 check 命令，跳过配置检查。"
        return 0
    fi
    flask_in "$1" check --skip-scheduler
}

stop_services() {
    if have_systemd; then
        systemctl stop qiangji-web.service qiangji-scheduler.service 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------- upgrade
if [ "$UPGRADE" = 1 ]; then
    if [ "$OLD_RELEASE" = "$(readlink -f "$RELEASE" 2>/dev/null || true)" ]; then
        say "版本 $VERSION 已经安装并正在使用（$OLD_RELEASE），无需升级。"
        exit 0
    fi
    say "强基通升级：$(basename "$OLD_RELEASE") → $VERSION（$PREFIX）"
    BUILT=0
    new_release() { # a directory of this version that is not in use (an earlier try) is set aside
        if [ -e "$RELEASE" ]; then
            mv "$RELEASE" "$RELEASE.replaced-$(date +%Y%m%d%H%M%S)"
        fi
        build_release "$RELEASE"
        BUILT=1
    }
    # 1. Backup first, with the running release's own command (it matches the database);
    #    a release too old to have one: with the new release's, built beside it first.
    set -a
    . "$ENV_FILE"
    set +a
    BACKUP_DIR="${BACKUP_DIR:-$DATA_DIR/backups}"
    BACKUP="$BACKUP_DIR/pre-upgrade-$(date +%Y%m%d-%H%M%S).tar.gz"
    backup_with() {
        say "升级前备份：$BACKUP"
        if ! mkdir -p "$BACKUP_DIR" || { [ "$NO_SYSTEM" = 0 ] && ! chown "$SERVICE_USER:$SERVICE_USER" "$BACKUP_DIR"; } ||
            ! flask_in "$1" backup create "$BACKUP"; then
            [ "$BUILT" = 0 ] || rm -rf "$RELEASE"
            die "升级前备份失败，升级已停止：程序、数据库和配置都没有改动（仍是 $(basename "$OLD_RELEASE")）。请先排除备份失败的原因（磁盘空间、$BACKUP_DIR 的权限）再升级。"
        fi
    }
    if flask_in "$OLD_RELEASE" backup --help >/dev/null 2>&1; then
        backup_with "$OLD_RELEASE"
        new_release
    else
        new_release
        backup_with "$RELEASE"
    fi
    [ "$NO_SYSTEM" = 1 ] || chown -R root:root "$RELEASE"

    # 2. Stop, switch, migrate.
    stop_services
    ln -sfn "$RELEASE" "$CURRENT.new"
    mv -T "$CURRENT.new" "$CURRENT"
    say "执行数据库迁移……"
    if ! flask_in "$RELEASE" db upgrade; then
        cat >&2 <<EOF

错误：数据库迁移失败，升级未完成，服务保持停止。按下面的步骤回退到 $(basename "$OLD_RELEASE")：
  1. 切回旧版本：   ln -sfn "$OLD_RELEASE" "$CURRENT"
  2. 恢复升级前备份： sudo $PREFIX/bin/qiangji backup restore --force "$BACKUP"
  3. 启动服务：     systemctl start qiangji-scheduler qiangji-web
  4. 检查：         sudo $PREFIX/bin/qiangji check
迁移的报错见上方；请把它和安装包版本 $VERSION 一起报给开发方。
EOF
        exit 1
    fi
    flask_in "$RELEASE" seed standards
    build_static "$RELEASE"
    install_wrapper
    install_units
    if ! check_release "$RELEASE"; then
        die "新版本的配置检查未通过（见上方），服务未启动。修正 $ENV_FILE 后运行 systemctl start qiangji-scheduler qiangji-web。"
    fi
    restart_services
    say "升级完成：$VERSION。旧版本留在 $OLD_RELEASE（回退见 README 部署一节），升级前备份：$BACKUP"
    exit 0
fi

# ---------------------------------------------------------------- first install
say "强基通首次安装：版本 $VERSION → $PREFIX（配置 $ENV_FILE，数据 $DATA_DIR）"
if [ "$NO_SYSTEM" = 0 ]; then
    if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
        NOLOGIN="$(command -v nologin || echo /sbin/nologin)"
        useradd --system --home-dir "$DATA_DIR" --no-create-home --shell "$NOLOGIN" "$SERVICE_USER"
        say "已创建系统账号 $SERVICE_USER。"
    fi
fi
mkdir -p "$PREFIX/releases" "$ETC_DIR" "$DATA_DIR/uploads" "$DATA_DIR/backups"
build_release "$RELEASE"
ln -sfn "$RELEASE" "$CURRENT"

if [ -f "$ENV_FILE" ]; then
    say "保留已有的配置文件 $ENV_FILE。"
else
    SECRET="$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')"
    umask 077
    sed -e "s#^SECRET_KEY=.*#SECRET_KEY=$SECRET#" \
        -e "s#/var/lib/qiangji#$DATA_DIR#g" \
        "$CURRENT/deploy/qiangji.env.example" >"$ENV_FILE"
    umask 022
    chmod 600 "$ENV_FILE"
    say "已生成配置文件 $ENV_FILE（随机 SECRET_KEY，权限 600）。"
fi
if [ "$NO_SYSTEM" = 0 ]; then
    chown root:"$SERVICE_USER" "$ENV_FILE"
    chown -R root:root "$PREFIX"
    chown -R "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR"
    chmod 750 "$DATA_DIR"
fi

say "建表（数据库迁移）……"
flask_in "$RELEASE" db upgrade
say "载入内置检查标准（五化、示范人民法庭、三年规划；不含演示数据）……"
flask_in "$RELEASE" seed standards
say "生成静态文件（带哈希的文件名和 .gz，供 nginx 直接发出）……"
build_static "$RELEASE"
install_wrapper
install_units
check_release "$RELEASE" || die "配置检查未通过（见上方），服务未启动。修正 $ENV_FILE 后再运行 install.sh。"
restart_services

cat <<EOF

安装完成：强基通 $VERSION。
下一步：创建第一个系统管理员（按提示输入两次密码；单位写本院全称，库中还没有单位时会新建为高级人民法院）：
  sudo $PREFIX/bin/qiangji users create-admin 用户名 --name 姓名 --unit "XX省高级人民法院" --role admin
三员分立：再用 --role secadmin 建安全管理员（由他给其他账号授予角色）、--role auditor 建安全审计员，三人不得为同一人。
然后配置反向代理（$CURRENT/deploy/nginx-qiangji.conf），浏览器访问 https://本站地址/ 登录。
检查配置：sudo $PREFIX/bin/qiangji check
EOF
